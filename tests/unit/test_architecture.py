"""The shape's one-way arrows (see README, Architecture): integrations know nothing of the bot,
Telegram or storage; storage knows nothing of aiogram, handlers or integrations."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "integrations": {"bot", "handlers", "storage", "aiogram"},
    "storage": {"aiogram", "handlers", "integrations"},
}


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
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_levels(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_top_levels(path) & FORBIDDEN[package]
    }
    assert not offenders, f"{package}/ imports what it must not: {offenders}"


def test_the_check_itself_sees_a_backward_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from bot.alerts import kinds\n", encoding="utf-8")
    assert "bot" in imported_top_levels(sample)
