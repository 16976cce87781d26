"""Each kind of setting value: what a person types, the rule a wrong value names, how it is
shown, and its JSON form (tests/unit/test_settings_values.py stores them)."""

from datetime import time

import pytest

from bot.i18n import build_i18n
from bot.settings import registry
from bot.settings.kinds import (
    Choice,
    Duration,
    Flag,
    Number,
    OptionalKind,
    SettingError,
    TextList,
    TimeOfDay,
    TimesOfDay,
    TimeWindow,
    Zone,
)
from bot.settings.registry import (
    Scope,
    Setting,
    chat_sections,
    declare,
    find_setting,
    register_chat_section,
)
from bot.settings.wiring import install_translator


@pytest.fixture(autouse=True)
def russian():
    install_translator(build_i18n("ru"))


def refused(kind, text) -> str:
    with pytest.raises(SettingError) as caught:
        kind.parse(text)
    return str(caught.value)


def test_choice_takes_a_value_or_its_label_and_names_the_choices():
    kind = Choice(("daily", "trip"))
    assert kind.parse(" Trip ") == "trip"
    assert kind.choices() == ["daily", "trip"]
    assert refused(kind, "weekly") == "одно из: daily, trip"
    assert kind.load(kind.dump("daily")) == "daily"


def test_number_with_a_vendors_rule_names_the_rule():
    kind = Number(min=60, max=3600, unit="seconds", rule_key="setting.rule.min")
    assert kind.parse("1 200") == 1200
    assert kind.render(1200) == "1\u00a0200 с"
    assert refused(kind, "59") == "не меньше 60"
    assert refused(kind, "3601") == "от 60 до 3\u00a0600"  # the vendor's rule is the minimum
    assert refused(kind, "1,5") == "нужно целое число"
    assert refused(kind, "inf") == "нужно целое число"
    assert refused(Number(min=1, max=5), "6") == "от 1 до 5"
    with pytest.raises(SettingError):
        kind.check(True)


def test_decimal_numbers():
    kind = Number(min=0, max=48, integer=False)
    assert kind.parse("1,5") == 1.5
    assert kind.render(1.5) == "1,5"
    assert refused(kind, "nan") == "нужно число"


def test_time_of_day_and_times_of_day():
    assert TimeOfDay().parse("9:05") == time(9, 5)
    assert refused(TimeOfDay(), "25:00") == "время ЧЧ:ММ, например 09:00"
    times = TimesOfDay(max_count=3)
    assert times.parse("18:00, 8:00 08:00") == (time(8), time(18))
    assert times.render((time(8), time(18))) == "08:00, 18:00"
    assert times.load(times.dump((time(8), time(18)))) == (time(8), time(18))
    assert times.from_env("09:00,13:00") == (time(9), time(13))
    assert "от 1 до 3" in refused(times, "1:00,2:00,3:00,4:00")
    assert refused(times, "8:61") == "время ЧЧ:ММ, например 09:00"


def test_time_window_and_optional_values():
    quiet = OptionalKind(TimeWindow(), none_key="setting.value.off")
    assert quiet.parse("22-7") == (time(22), time(7))
    assert quiet.parse("выкл") is None
    assert quiet.render(None) == "выкл"
    assert quiet.render((time(22), time(7))) == "22:00–07:00"
    assert quiet.load(quiet.dump((time(22), time(7)))) == (time(22), time(7))
    assert "22:00-07:00" in refused(quiet, "22:00-22:00")


def test_zone_is_an_iana_name_in_any_case():
    assert Zone().parse("asia/yekaterinburg") == "Asia/Yekaterinburg"
    assert "IANA" in refused(Zone(), "Mars/Olympus")
    assert "IANA" in refused(Zone(), "../etc/passwd")


def test_duration_flag_and_lists():
    assert Duration(min_minutes=5, max_minutes=24 * 60).parse("1h30m") == 90
    assert refused(Duration(min_minutes=5, max_minutes=60), "2h") == "от 5 мин до 1 ч"
    assert Duration().render(90) == "1 ч 30 мин"
    assert Flag().parse("выкл") is False and Flag().parse("On") is True
    assert refused(Flag(), "может быть") == "«вкл» или «выкл»"
    codes = TextList(item_pattern=r"\d{5}")
    assert codes.parse("12345, 54321") == ("12345", "54321")
    assert refused(codes, "12345, abc") == "список через запятую"


@pytest.fixture
def own_registry(monkeypatch):
    """Declarations of a test go into a copy of the registry, not the app's."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_SECTIONS", dict(registry._SECTIONS))


def test_names_are_dotted_lower_case_and_unique(own_registry):
    with pytest.raises(ValueError):
        Setting("Alta", Flag(), True, Scope.GLOBAL, None, "polling", live=True)
    with pytest.raises(ValueError):  # only a GLOBAL setting reads the environment
        Setting("t.x", Flag(), True, Scope.CHAT, None, "alerts", live=True, env="X")
    one = declare(Setting("test.kinds_unique", Flag(), True, Scope.GLOBAL, None, "x", live=True))
    assert declare(one) is one and find_setting("TEST.kinds_unique ") is one
    with pytest.raises(ValueError, match="declared twice"):
        declare(Setting("test.kinds_unique", Flag(), False, Scope.GLOBAL, None, "x", live=True))


def test_rule_texts_exist_in_both_languages():
    i18n = build_i18n("ru")
    keys = {k for k in i18n.keys("ru") if k.startswith("setting.")}
    assert keys == {k for k in i18n.keys("en") if k.startswith("setting.")}
    assert {"setting.rule.zone", "setting.rule.times", "setting.hint.zone"} <= keys


def test_a_feature_registers_a_row_that_opens_its_own_screen(own_registry):
    section = register_chat_section("escalation", "test.section", "test:open")
    assert register_chat_section("escalation", "test.section", "test:open") == section
    assert section in chat_sections()
    with pytest.raises(ValueError, match="twice"):
        register_chat_section("digest", "test.other", "test:open")
