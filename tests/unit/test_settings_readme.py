"""The README's settings table says what the registry says: every declared setting that is not
a secret, with its variable and who sets it — and no secret among them."""

import re
from pathlib import Path

from bot.settings.declared import load_declarations
from bot.settings.registry import Scope

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(
    r"^\| `([a-z_]+\.[a-z_.]+)` \| (`[A-Z_]+`|—) \| (admin, private|the chat / topic) \|"
)
SECRETS = {"BOT_TOKEN", "MOVIZOR_KEY", "MOBIFORCE_API_KEY", "TAXIMASTER_SECRET", "ALTA_PASSWORD"}


def readme_rows() -> set[tuple[str, str | None, str]]:
    section = README.read_text(encoding="utf-8").split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = set()
    for line in section.splitlines():
        found = ROW.match(line)
        if found:
            env = None if found[2] == "—" else found[2].strip("`")
            rows.add((found[1], env, found[3]))
    return rows


def test_the_readme_settings_table_matches_the_registry():
    declared = {
        (s.name, s.env, "admin, private" if s.scope is Scope.GLOBAL else "the chat / topic")
        for s in load_declarations()
        if not s.secret and not s.name.startswith("test.")
    }
    assert readme_rows() == declared


def test_no_secret_is_a_setting_anyone_may_see():
    for setting in load_declarations():
        assert setting.env not in SECRETS or setting.secret, setting.name
        assert "database" not in setting.name
