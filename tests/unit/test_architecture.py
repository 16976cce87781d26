"""The shape's one-way arrows (see README, Architecture): integrations know nothing of the bot,
Telegram or storage; storage knows nothing of aiogram, handlers or integrations; the product
(bot, handlers, integrations, storage) never imports its stand-ins in sandbox/ — but for the
CLI's lazy `logibot demo` entry point."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "integrations": {"bot", "handlers", "storage", "aiogram", "sandbox"},
    "storage": {"aiogram", "handlers", "integrations", "sandbox"},
    "handlers": {"sandbox"},
    "bot": {"sandbox"},
}
# The one sanctioned way in: `logibot demo` imports the sandbox lazily, when it is asked for.
ALLOWED = {"bot/cli.py": {"sandbox"}}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):  # function-level imports count too
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_arrows_point_one_way(package):
    offenders = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        wrong = imported_top_levels(path) & FORBIDDEN[package] - ALLOWED.get(name, set())
        if wrong:
            offenders[name] = sorted(wrong)
    assert not offenders, f"{package}/ imports what it must not: {offenders}"


# Libraries the bot needs only when someone types a phone or a container number: imported
# there, so that an idle bot does not carry them (issue 16, idle memory in `make bench`).
LOADED_AT_FIRST_USE = ("phonenumbers", "stdnum", "pydoc")


@pytest.fixture(scope="module")
def loaded_by_the_app() -> list[str]:
    """The modules `import bot.app` loads (the app and every registered service)."""
    probe = "import sys, bot.app; print('\\n'.join(sorted(sys.modules)))"
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()


def test_running_the_bot_loads_no_stand_in(loaded_by_the_app):
    """What `logibot run` imports holds no simulator and nothing else of sandbox/."""
    assert "handlers.movizor.service" in loaded_by_the_app  # the probe sees the services
    assert [name for name in loaded_by_the_app if name.split(".")[0] == "sandbox"] == []


def test_running_the_bot_leaves_libraries_of_rare_inputs_unloaded(loaded_by_the_app):
    top_levels = {name.split(".")[0] for name in loaded_by_the_app}
    assert top_levels & set(LOADED_AT_FIRST_USE) == set()


# The report's libraries: loaded when a report is made (bot/reports), never by a bot at rest.
LOADED_FOR_REPORTS = ("xlsxwriter", "openpyxl", "matplotlib", "numpy", "PIL")


def test_running_the_bot_leaves_the_report_libraries_unloaded(loaded_by_the_app):
    assert "handlers.digests.report" in loaded_by_the_app  # /report itself is there
    top_levels = {name.split(".")[0] for name in loaded_by_the_app}
    assert top_levels & set(LOADED_FOR_REPORTS) == set()


def test_the_services_answer_models_are_built_at_their_first_answer():
    """A pydantic model's validator costs memory when it is built; a service's answer models
    are built when its first answer comes (``defer_build``), so a bot without that service
    never builds them."""
    probe = textwrap.dedent(
        """
        import bot.app, pydantic

        def subclasses(cls):
            for sub in cls.__subclasses__():
                yield sub
                yield from subclasses(sub)

        ours = [m for m in subclasses(pydantic.BaseModel) if m.__module__[:13] == "integrations."]
        assert len(ours) > 20, len(ours)  # the probe sees the models
        print("\\n".join(m.__qualname__ for m in ours if m.__pydantic_complete__))
        """
    )
    built = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert built == []


def test_the_check_itself_sees_a_backward_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from bot.alerts import kinds\n", encoding="utf-8")
    assert "bot" in imported_top_levels(sample)
