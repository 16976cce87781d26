"""Rendering alerts: escaping, the chat's time zone and language, grouping and the 4096 split."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.packing import compose, plan_units
from bot.alerts.render import (
    RenderContext,
    ack_line,
    alert_keyboard,
    pins,
    plural_key,
    render_alert,
    render_group,
)
from bot.callbacks import AlertAckCb, AlertSilenceCb
from bot.i18n import build_i18n
from bot.texts import telegram_length
from integrations.base import Alert, Location, Severity, Subject
from sandbox.telegram_emulator import parse_html
from storage.outbox import OutboxRow

I18N = build_i18n("ru")
MOSCOW = RenderContext(I18N, "ru", ZoneInfo("Europe/Moscow"))
ENGLISH_VLADIVOSTOK = RenderContext(I18N, "en", ZoneInfo("Asia/Vladivostok"))
AT = datetime(2025, 3, 14, 9, 5, tzinfo=UTC)


def alert(n: int = 1, **overrides: Any) -> Alert:
    values: dict[str, Any] = {
        "kind": "driver.late",
        "source": "test",
        "subject": Subject("driver", f"7999000000{n}", f"Иванов <{n}> & Co"),
        "occurred_at": AT,
        "dedupe_key": f"k{n}",
        "fields": {"Опоздание": "25 мин", "Рейс <A&B>": "Москва → Тверь"},
    }
    values.update(overrides)
    return Alert(**values)


def test_one_alert_escapes_upstream_text_and_uses_the_chat_zone():
    text = render_alert(alert(location=Location(55.7, 37.6, "Склад <3>")), Severity.HIGH, MOSCOW)
    lines = text.html.splitlines()
    assert lines[0] == "🔴 <b>Водитель опаздывает</b>"
    assert "<b>Иванов &lt;1&gt; &amp; Co</b>" in lines[1]
    assert "Рейс &lt;A&amp;B&gt;: Москва → Тверь" in text.html
    assert "📍 Склад &lt;3&gt;" in text.html
    assert "🕒 14.03 12:05" in text.html  # 09:05 UTC in Moscow
    assert parse_html(text.html)[0] == text.plain  # Telegram accepts it, and shows the twin
    assert text.plain.splitlines()[0] == "🔴 Водитель опаздывает"
    assert "Иванов <1> & Co" in text.plain and "<b>" not in text.plain


def test_english_chat_and_its_own_zone():
    text = render_alert(alert(), Severity.LOW, ENGLISH_VLADIVOSTOK)
    assert text.html.startswith("⚪ <b>Driver is late</b>")
    assert "19:05" in text.html


def test_subject_without_a_title_shows_its_id_and_unknown_kinds_show_their_name():
    bare = alert(kind="custom.thing", subject=Subject("task", "A-17"))
    text = render_alert(bare, Severity.NORMAL, MOSCOW)
    assert text.html.startswith("🟡 <b>custom.thing</b>")
    assert "A-17" in text.html
    driver = alert(subject=Subject("driver", "79990001122"))  # a driver: by the phone as shown
    assert "+7 999 000-11-22" in render_alert(driver, Severity.NORMAL, MOSCOW).html


def test_a_group_has_a_header_and_every_alert():
    parts = render_group([(alert(i), Severity.NORMAL) for i in range(10)], MOSCOW)
    assert len(parts) == 1
    assert parts[0].text.html.startswith("🔔 <b>10 оповещений</b>")
    assert parts[0].indexes == tuple(range(10))
    for i in range(10):
        assert f"Иванов &lt;{i}&gt;" in parts[0].text.html
    parse_html(parts[0].text.html)


@pytest.mark.parametrize(
    ("count", "form"), [(1, "one"), (2, "few"), (5, "many"), (11, "many"), (21, "one")]
)
def test_russian_plurals(count, form):
    assert plural_key("alert.group", count, "ru") == f"alert.group.{form}"


def test_a_long_group_splits_on_block_boundaries_with_balanced_html():
    long = {f"Поле {j}": "x&<" * 90 for j in range(6)}
    alerts = [(alert(i, fields=long), Severity.HIGH) for i in range(12)]
    parts = render_group(alerts, MOSCOW)
    assert len(parts) > 1
    assert sorted(i for part in parts for i in part.indexes) == list(range(12))
    for number, part in enumerate(parts, start=1):
        assert telegram_length(part.text.html) <= 4096 - 200  # room left for the ack line
        assert f"(часть {number}/{len(parts)})" in part.text.html
        assert parse_html(part.text.html)[0] == part.text.plain


def test_an_enormous_alert_drops_fields_instead_of_overflowing():
    huge = alert(fields={f"Поле {j}": "&" * 300 for j in range(40)})
    text = render_alert(huge, Severity.NORMAL, MOSCOW)
    assert telegram_length(text.html) <= 4096 - 200
    assert "и ещё полей:" in text.html
    parse_html(text.html)


def test_buttons_fit_telegram_and_carry_the_row():
    markup = alert_keyboard(2_000_000_000, MOSCOW)
    buttons = markup.inline_keyboard[0]
    assert [b.text for b in buttons] == ["✅ Принял", "🔕 Тишина 1 ч"]
    assert all(len((b.callback_data or "").encode()) <= 64 for b in buttons)
    assert AlertAckCb.unpack(buttons[0].callback_data or "").row == 2_000_000_000
    assert AlertSilenceCb.unpack(buttons[1].callback_data or "").row == 2_000_000_000


def test_ack_line_escapes_the_name():
    line = ack_line("Анна <admin>", AT, MOSCOW)
    assert line == "✅ Принял(а) Анна &lt;admin&gt; в 12:05"


def test_pins_keep_the_latest_place_per_subject():
    first = alert(1, location=Location(1, 1))
    again = alert(1, location=Location(2, 2))
    other = alert(2, location=Location(3, 3))
    assert pins([first, other, again], 3) == [Location(3, 3), Location(2, 2)]
    assert pins([first, other, again], 1) == [Location(2, 2)]


def test_cards_go_alone_and_the_rest_group_per_topic():
    def row(i: int, kind: str, thread: int = 0) -> OutboxRow:
        return OutboxRow(i, -1, thread, kind, 2, f"s:{i}", "{}", 0)

    rows = [
        row(1, "driver.late"),
        row(2, "taxi.assigned"),
        row(3, "driver.late", thread=7),
        row(4, "driver.arrived"),
        row(5, "taxi.assigned"),
    ]
    units = plan_units([(r, alert(r.id)) for r in rows])
    assert [[r.id for item in unit for r in item.rows] for unit in units] == [[1, 4], [2], [3], [5]]


def test_routine_news_of_a_subject_is_folded_into_its_latest_line():
    """Three moves of one wagon and two of another: one line each, with the latest state and
    the count of the changes before it; the alert that needs a person stays on its own."""

    def row(i: int, kind: str, subject: str) -> OutboxRow:
        return OutboxRow(i, -1, 0, kind, 1, subject, "{}", 0)

    def moved(i: int, subject: str, station: str) -> tuple[OutboxRow, Alert]:
        news = alert(
            i,
            kind="driver.parked",
            subject=Subject("driver", subject, subject),
            location=Location(1, 1, station),
        )
        return row(i, "driver.parked", f"driver:{subject}"), news

    pairs = [
        moved(1, "a", "Торжок"),
        moved(2, "b", "Клин"),
        (row(3, "driver.late", "driver:c"), alert(3)),
        moved(4, "a", "Бологое"),
        moved(5, "a", "Окуловка"),
        moved(6, "b", "Химки"),
    ]
    units = plan_units(pairs)
    assert len(units) == 1
    assert [[r.id for r in item.rows] for item in units[0]] == [[1, 4, 5], [2, 6], [3]]
    [message] = compose(units[0], MOSCOW)
    assert message.ids == [1, 2, 3, 4, 5, 6]  # every row is marked sent with it: none lost
    text = message.text.plain
    assert "Окуловка" in text and "Торжок" not in text and "Бологое" not in text
    assert "ещё 2 изменения до этого" in text and "ещё 1 изменение до этого" in text
    assert text.startswith("🔔 3 оповещения")


def test_fields_come_by_key_and_are_worded_in_the_chat_language():
    import handlers.movizor.alert_fields  # noqa: F401  (registers Movizor's keys)

    facts = alert(
        source="movizor",
        fields={
            "event": "pos_late",
            "distance_left_km": 12.6,
            "time_left_minutes": 65,
            "brand_new_key": "как пришло",
        },
    )
    russian = render_alert(facts, Severity.HIGH, MOSCOW).plain
    assert "Событие: объект начал опаздывать" in russian
    assert "Осталось: 13 км" in russian
    assert "В пути ещё: 1 ч 5 мин" in russian
    assert "brand_new_key: как пришло" in russian  # unknown keys are shown, never dropped
    english = render_alert(facts, Severity.HIGH, ENGLISH_VLADIVOSTOK).plain
    assert "Event: driver started running late" in english
    assert "Distance left: 13 km" in english
    assert "Time left: 1 h 5 min" in english
    assert not any(
        "А" <= ch <= "я" for ch in english.replace("как пришло", "").replace("Иванов", "")
    )


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_movizor_event_type_has_words_in_both_languages(locale):
    from handlers.movizor.alert_fields import event_in_words
    from integrations.movizor.models import EventType

    with I18N.context(), I18N.use_locale(locale):
        for event_type in EventType:
            assert event_in_words(event_type.value, MOSCOW.tz) != event_type.value, event_type
        assert event_in_words("teleport", MOSCOW.tz) == "teleport"  # unknown: as sent
