"""Storm mode's pieces: the density ladder in packing, the summary line, the budget's room, and
the storm state (entering, hysteresis, leaving, a restart)."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiolimiter import AsyncLimiter

from bot.alerts.packing import Density, Outgoing, compose, plan_units
from bot.alerts.render import MESSAGE_LIMIT, RenderContext
from bot.alerts.storm import StormDesk, room
from bot.callbacks import AlertListCb
from bot.i18n import build_i18n
from bot.metrics import Metrics
from integrations.base import Alert, Location, Subject
from sandbox.telegram_emulator import parse_html
from storage import Repos
from storage.db import Database
from storage.outbox import OutboxRow

MOSCOW = RenderContext(build_i18n("ru"), "ru", ZoneInfo("Europe/Moscow"))
AT = datetime(2025, 3, 14, 9, 5, tzinfo=UTC)
SEVERITY = {"driver.left_route": 3, "driver.late": 3, "driver.parked": 1}


def pair(i: int, kind: str, subject: int, *, place: str = "") -> tuple[OutboxRow, Alert]:
    news = Alert(
        kind=kind,
        source="test",
        subject=Subject("driver", str(subject), f"Петров <{subject}>"),
        occurred_at=AT + timedelta(seconds=i),
        dedupe_key=f"k{i}",
        location=Location(1, 1, place) if place else None,
    )
    row = OutboxRow(i, -1, 0, kind, SEVERITY.get(kind, 2), f"driver:{subject}", "{}", 0)
    return row, news


def messages(pairs: list[tuple[OutboxRow, Alert]], density: Density) -> list[Outgoing]:
    return [
        out for unit in plan_units(pairs, density=density) for out in compose(unit, MOSCOW, density)
    ]


def every_row_once(queue: list[Outgoing], pairs: list[tuple[OutboxRow, Alert]]) -> bool:
    ids = [row_id for out in queue for row_id in out.ids]
    return sorted(ids) == sorted(row.id for row, _ in pairs)


def test_one_line_per_subject_urgent_first():
    pairs = [
        pair(1, "driver.roaming", 1, place="Тверь"),
        pair(2, "driver.roaming", 2),
        pair(3, "driver.left_route", 3),
        pair(4, "driver.roaming", 1, place="Клин"),
        pair(5, "taxi.assigned", 4),  # a card: a line like any other in a storm
    ]
    [out] = messages(pairs, Density.SUBJECT)
    lines = out.text.plain.splitlines()
    assert lines[0] == "🌪 Шторм: 5 оповещений"
    assert lines[1] == "🔴 Петров <3> — Водитель ушёл с маршрута · 🕒 12:05"
    assert lines[2] == "🟡 Петров <1> — Водитель в роуминге · 📍 Клин · 🕒 12:05 · и ещё 1"
    assert lines[3].startswith("🟡 Петров <2> —") and lines[4].startswith("🟡 Петров <4> —")
    assert out.card is None and out.pins == [] and out.dense and every_row_once([out], pairs)
    assert parse_html(out.text.html)[0] == out.text.plain  # Telegram accepts it


def test_a_summary_line_counts_alerts_and_names_the_newest_subjects():
    pairs = [pair(100, "driver.parked", 50)]  # routine (⚪): first in, last out
    pairs += [pair(i, "driver.roaming", i % 14, place=f"Склад {i % 14}") for i in range(20)]
    pairs.append(pair(20, "driver.left_route", 99))
    [out] = messages(pairs, Density.KIND)
    lines = out.text.plain.splitlines()
    assert lines[0] == "🌪 Шторм: 22 оповещения"
    assert lines[-1] == "⚪ Водитель на стоянке — 1 оповещение: Петров <50>"
    assert lines[1].startswith("🔴 Петров <99> — Водитель ушёл с маршрута")  # urgent, first
    assert lines[2] == (
        "🟡 Водитель в роуминге — 20 оповещений: Петров <5> (Склад 5), Петров <4> (Склад 4), "
        "Петров <3> (Склад 3), Петров <2> (Склад 2), Петров <1> (Склад 1) и ещё 9"
    )
    assert every_row_once([out], pairs)
    # Its «📋» lists that kind (the button names the first row of it in the message).
    assert out.keyboard is not None
    buttons = [b for row in out.keyboard.inline_keyboard for b in row]
    assert [b.text for b in buttons] == [
        "📋 Водитель в роуминге · 14",
        "📋 Водитель на стоянке · 1",
        "📋 Весь список · 16",
        "✅ Принял",
        "🔕 Тишина 1 ч",
    ]
    kind_list = AlertListCb.unpack(str(buttons[0].callback_data))
    assert (kind_list.row, kind_list.kind) == (0, 1)  # row 0: the first roaming one
    assert all(len(str(b.callback_data).encode()) <= 64 for b in buttons)


def test_urgent_subjects_keep_their_lines_while_they_fit_and_the_rest_is_summarized():
    pairs = [pair(i, "driver.late", i) for i in range(300)]
    pairs += [pair(1000 + i, "driver.roaming", i) for i in range(50)]
    [out] = messages(pairs, Density.KIND)
    assert out.text.length <= MESSAGE_LIMIT
    lines = out.text.plain.splitlines()[1:]
    own = [line for line in lines if line.startswith("🔴 Петров")]
    assert 30 < len(own) < 300 and lines[: len(own)] == own
    assert lines[len(own)].startswith(f"🔴 Водитель опаздывает — {300 - len(own)} оповещени")
    assert lines[-1].startswith("🟡 Водитель в роуминге — 50 оповещений")
    assert every_row_once([out], pairs)


def test_the_first_storm_message_says_why_and_long_ones_split_under_4096():
    pairs = [pair(i, "driver.late", i) for i in range(200)]
    [unit] = plan_units(pairs, density=Density.SUBJECT)
    queue = compose(unit, MOSCOW, Density.SUBJECT, entering=True)
    assert len(queue) > 1 and all(out.text.length <= 4096 for out in queue)
    assert "идут сводкой" in queue[0].text.plain
    assert all("идут сводкой" not in out.text.plain for out in queue[1:])
    assert every_row_once(queue, pairs)


async def test_room_is_what_the_budget_sends_within_the_horizon():
    group = AsyncLimiter(20, 60)
    assert room(group, 5.0) == 21  # the burst, and one more refills within 5 s
    for _ in range(20):
        await group.acquire()
    assert room(group, 5.0) == 1 and room(group, 0.0) == 1  # at least the one it waits for
    private = AsyncLimiter(1, 1)
    assert room(private, 5.0) == 6


def layouts(counts: dict[Density, int]) -> Any:
    """A lay-out that needs ``counts[density]`` messages, recording what it was asked."""
    asked: list[tuple[Density, bool]] = []

    async def lay_out(density: Density, entering: bool) -> list[Outgoing]:
        asked.append((density, entering))
        return [Outgoing([], 0, MOSCOW_LINE, None, True, [])] * counts[density]

    lay_out.asked = asked  # type: ignore[attr-defined]
    return lay_out


MOSCOW_LINE = compose(plan_units([pair(1, "driver.late", 1)])[0], MOSCOW)[0].text


async def test_entering_staying_and_leaving_a_storm(tmp_path):
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    try:
        repos = Repos.on(db)
        desk = StormDesk(repos, Metrics(), horizon=0.0, calm=120.0)
        spent = AsyncLimiter(1, 1)
        await spent.acquire()

        # Five messages' worth, one to send: up the ladder to the first density that fits.
        lay_out = layouts({Density.FULL: 5, Density.SUBJECT: 2, Density.KIND: 1})
        assert len(await desk.fit(-7, spent, lay_out)) == 1
        assert lay_out.asked == [(d, True) for d in Density] and desk.chats() == [-7]
        await desk.delivered(-7, 0, 30)
        await desk.delivered(-7, 5, 4)  # a forum topic

        # Calm again, yet still in the storm: a line per subject, no flapping.
        calm = layouts({Density.FULL: 1, Density.SUBJECT: 1, Density.KIND: 1})
        await desk.fit(-7, spent, calm)
        assert calm.asked == [(Density.FULL, False), (Density.SUBJECT, False)]

        # A restart keeps the storm and its counts.
        again = StormDesk(repos, Metrics(), horizon=0.0, calm=120.0)
        await again.load()
        since, counts = again.ending(-7)
        assert counts == {0: 30, 5: 4}
        now = since + timedelta(seconds=119)
        assert not again.is_over(-7, now) and again.over(now) == []
        later = since + timedelta(seconds=121)
        assert again.is_over(-7, later) and again.over(later) == [-7]

        await again.told(-7, 5)
        assert again.ending(-7)[1] == {0: 30}
        await again.forget(-7)
        assert again.chats() == [] and await repos.alert_storms.all() == []

        # Storm mode off: everything as always.
        off = StormDesk(repos, Metrics(), enabled=False)
        assert len(await off.fit(-8, spent, layouts({d: 5 for d in Density}))) == 5
        assert off.chats() == []
    finally:
        await db.close()


def test_good_news_is_summarized_green_and_still_rings():
    pairs = [pair(i, "driver.arrived", i) for i in range(3)]
    [out] = messages(pairs, Density.KIND)
    assert out.text.plain.splitlines()[1].startswith("🟢 Водитель прибыл — 3 оповещения")
    assert not out.silent
