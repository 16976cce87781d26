"""`logibot check`'s settings block: every setting's effective value and where it comes from
(the chat, the environment or the default), read from the database the bot would use."""

from __future__ import annotations

from bot.config import Settings
from bot.i18n import build_i18n
from bot.settings.declared import load_declarations
from bot.settings.registry import Scope
from bot.settings.values import SettingsValues, ValueSource, read_environment
from bot.settings.wiring import install_translator
from storage import Repos
from storage.db import Database


def _source(source: ValueSource) -> str:
    if source.kind == "set":
        when = source.at.strftime("%Y-%m-%d %H:%M UTC") if source.at else ""
        return f"set from the chat by {source.by}, {when}".rstrip(", ")
    return "environment" if source.kind == "env" else "default"


async def settings_report(settings: Settings) -> list[str]:
    install_translator(build_i18n("en"))
    declared = [s for s in load_declarations() if s.scope is Scope.GLOBAL and not s.secret]
    from_environment, problems = read_environment(declared, settings)
    lines = [f"PROBLEM {problem}" for problem in problems]
    db = Database(settings.database)
    try:
        await db.open(migrate=False)
        values = SettingsValues(Repos.on(db), from_environment)
        for setting in declared:
            value, source = await values.effective(setting)
            shown = setting.kind.render(value)
            lines.append(f"{setting.label}={shown}  ({_source(source)})")
    except Exception as exc:  # no database yet, or an older schema: the environment's view
        lines.append(f"(values set from the chat unknown: {type(exc).__name__})")
        for setting in declared:
            known = setting.name in from_environment
            value = from_environment[setting.name] if known else setting.default
            origin = "environment" if known else "default"
            lines.append(f"{setting.label}={setting.kind.render(value)}  ({origin})")
    finally:
        await db.close()
    return lines
