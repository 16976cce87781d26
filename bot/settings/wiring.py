"""The app's settings values: declarations loaded, texts in the current language, the
environment's values read (and checked against the settings' rules)."""

from __future__ import annotations

from aiogram.utils.i18n import I18n

from bot.config import ConfigError, Settings
from bot.settings.declared import load_declarations
from bot.settings.kinds import set_translator
from bot.settings.values import SettingsValues, read_environment
from storage import Repos


def install_translator(i18n: I18n) -> None:
    """Rules and labels in the language of the update being handled (aiogram's context),
    else the bot's default language (`logibot check`, start-up)."""

    def translate(key: str) -> str:
        current = I18n.get_current(no_error=True)
        if current is not None:
            return current.gettext(key)
        return i18n.gettext(key, locale=i18n.default_locale)

    set_translator(translate)


def build_settings_values(settings: Settings, repos: Repos, i18n: I18n) -> SettingsValues:
    install_translator(i18n)
    from_environment, problems = read_environment(load_declarations(), settings)
    if problems:
        raise ConfigError(problems)
    return SettingsValues(repos, from_environment)
