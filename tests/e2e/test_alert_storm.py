"""Storm mode end to end: when a group's alerts outrun its budget, messages get denser, every
alert is still counted, listed, openable, and acknowledged; leaving the storm is said.

The group's budget is made tiny (one message at a time, two a second, nothing counted ahead) so
that a hundred alerts committed at once outrun it; the real pipeline, sender and emulator do
the rest.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

from integrations.base import Alert, Location, Subject
from sandbox.harness import BotHarness
from storage.db import utcnow
from storage.users import Role
from tests.e2e.conftest import eventually
from tests.e2e.test_alert_sender import (
    ADMIN,
    COLLEAGUE,
    FAST_RETRY,
    GROUP,
    all_sent,
    group_bot,
    metric,
    refused,
)

# One message at a time, two a second, and a job may count only on what is free now.
TIGHT = replace(
    FAST_RETRY,
    per_group_per_minute=1,
    group_window_seconds=0.5,
    storm_horizon_seconds=0.0,
    storm_calm_seconds=60.0,
)


def news(n: int, kind: str, *, key: str = "", place: str = "") -> Alert:
    return Alert(
        kind=kind,
        source="test",
        subject=Subject("driver", f"7999{n:07d}", f"Водитель №{n}"),
        occurred_at=utcnow(),
        dedupe_key=f"{kind}:{n}:{key}",
        fields={"details": f"событие {n}"},
        location=Location(55.0, 37.0, place) if place else None,
    )


def storm_of(subjects: int, *, urgent: int = 0) -> list[Alert]:
    """Each of ``subjects`` drivers roams and has its app stopped; the first ``urgent`` of
    them also left the route (🔴)."""
    alerts = []
    for n in range(subjects):
        alerts.append(news(n, "driver.roaming", place=f"Склад {n}"))
        alerts.append(news(n, "driver.app_stopped"))
    alerts += [news(n, "driver.left_route") for n in range(urgent)]
    return alerts


def storm_messages(h: BotHarness) -> list[dict[str, Any]]:
    return [m for m in h.emu.messages(GROUP) if m.get("text", "").startswith("🌪 Шторм")]


async def test_a_storm_summarizes_per_kind_with_urgent_lines_first(tmp_path):
    async with group_bot(tmp_path, send_limits=TIGHT) as h:
        assert h.app is not None
        await h.app.pipeline.commit("test", storm_of(120, urgent=3), None)
        await eventually(lambda: all_sent(h))

        [summary] = storm_messages(h)  # 243 alerts in one message
        lines = summary["text"].splitlines()
        assert lines[0] == "🌪 Шторм: 243 оповещения"
        assert "идут сводкой" in lines[1]  # the first storm message says why
        # Urgent subjects first, a line each; then one summary line per other kind.
        assert [line.split(" — ")[0] for line in lines[2:5]] == [
            "🔴 Водитель №0",
            "🔴 Водитель №1",
            "🔴 Водитель №2",
        ]
        assert all("Водитель ушёл с маршрута" in line for line in lines[2:5])
        roaming = next(line for line in lines if "Водитель в роуминге —" in line)
        assert roaming.startswith("🟡 Водитель в роуминге — 120 оповещений: Водитель №119 (Склад")
        assert roaming.count("Водитель №") == 5 and roaming.endswith("и ещё 115")
        assert any(line.startswith("🟡 Приложение водителя остановлено — 120") for line in lines)
        assert len(summary["text"]) <= 4096 and not refused(h)
        buttons = [b["text"] for row in summary["reply_markup"]["inline_keyboard"] for b in row]
        assert "📋 Водитель в роуминге · 120" in buttons and "📋 Весь список · 120" in buttons
        assert buttons[-2:] == ["✅ Принял", "🔕 Тишина 1 ч"]
        # Every alert rode that message: counted, and nothing is left behind.
        rows = await h.app.repos.outbox.rows_of_message(GROUP, summary["message_id"])
        assert len(rows) == 243
        assert metric(h, "logibot_alerts_summarized_total") == 243
        assert metric(h, "logibot_alert_storm_chats") == 1


async def test_urgent_lines_that_do_not_fit_are_summarized_right_after_the_others(tmp_path):
    async with group_bot(tmp_path, send_limits=TIGHT) as h:
        assert h.app is not None
        urgent = [news(n, "driver.late") for n in range(200)]
        await h.app.pipeline.commit("test", [*storm_of(10), *urgent], None)
        await eventually(lambda: all_sent(h))
        [summary] = storm_messages(h)
        lines = summary["text"].splitlines()[2:]
        own = [line for line in lines if line.startswith("🔴 Водитель №")]
        assert 20 < len(own) < 200  # as many as fit beside the summaries
        assert lines[: len(own)] == own  # ...and first
        rest = lines[len(own)]
        assert rest.startswith(f"🔴 Водитель опаздывает — {200 - len(own)} оповещений")
        assert len(summary["text"]) <= 4096 and not refused(h)


async def test_the_list_opens_every_subject_and_acts_on_one(tmp_path):
    async with group_bot(tmp_path, send_limits=TIGHT) as h:
        assert h.app is not None
        repos = h.app.repos
        await repos.users.set_role(COLLEAGUE, Role.VIEWER, by=ADMIN)  # lists are for reading
        await h.app.pipeline.commit("test", storm_of(100), None)
        await eventually(lambda: all_sent(h))
        [summary] = storm_messages(h)
        assert all(
            len(b["callback_data"].encode()) <= 64
            for row in summary["reply_markup"]["inline_keyboard"]
            for b in row
        )

        # «📋» opens the kind's list under the summary, eight subjects a page.
        h.press(COLLEAGUE, summary, "📋 Водитель в роуминге")
        listed = await h.emu.wait_for_message(GROUP, lambda m: m["text"].startswith("📋"))
        assert listed["reply_to_message"]["message_id"] == summary["message_id"]
        assert "Водитель в роуминге" in listed["text"] and "стр. 1/13" in listed["text"]
        assert "1. 🟡 Водитель №0 — Водитель в роуминге · 📍 Склад 0" in listed["text"]
        h.press(COLLEAGUE, listed, "След.")
        await h.emu.wait_for_event(lambda c: c.method == "editMessageText")
        page2 = next(m for m in h.emu.messages(GROUP) if m["message_id"] == listed["message_id"])
        assert "стр. 2/13" in page2["text"] and "9. 🟡 Водитель №8" in page2["text"]

        # A number opens that subject in full (its latest news: the app stopped after it
        # roamed), with its own buttons.
        h.press(COLLEAGUE, page2, "9")
        opened = await h.emu.wait_for_message(
            GROUP, lambda m: m["text"].startswith("🟡 Приложение водителя остановлено")
        )
        assert "Водитель №8" in opened["text"] and "событие 8" in opened["text"]
        assert "и ещё 1 изменение до этого" in opened["text"]

        # Its «Принял» (a dispatcher's, in a group) acts on that subject only.
        h.press(ADMIN, opened, "Принял")
        await h.emu.wait_for_event(
            lambda c: c.method == "editMessageText" and "Принял(а)" in c.params.get("text", "")
        )
        silences = await repos.alert_state.silences(GROUP)
        assert set(silences) == {
            (GROUP, 0, "driver:79990000008", "driver.roaming"),
            (GROUP, 0, "driver:79990000008", "driver.app_stopped"),
        }
        assert await h.app.pipeline.commit("test", [news(8, "driver.roaming", key="b")], None) == 0
        assert await h.app.pipeline.commit("test", [news(9, "driver.roaming", key="b")], None) == 1
        assert not refused(h)


async def test_ack_and_silence_on_a_summary_act_on_every_subject_it_summarizes(tmp_path):
    async with group_bot(tmp_path, send_limits=TIGHT) as h:
        assert h.app is not None
        repos = h.app.repos
        await h.app.pipeline.commit("test", storm_of(100, urgent=2), None)
        await eventually(lambda: all_sent(h))
        [summary] = storm_messages(h)

        h.press(ADMIN, summary, "Принял")
        await h.emu.wait_for_event(lambda c: c.method == "editMessageText")
        acked = next(m for m in h.emu.messages(GROUP) if m["message_id"] == summary["message_id"])
        assert re.search(r"✅ Принял\(а\) Админ 1001 в \d\d:\d\d$", acked["text"])
        # The lists stay; «Принял» and «Тишина» are gone.
        buttons = [b["text"] for row in acked["reply_markup"]["inline_keyboard"] for b in row]
        assert "📋 Весь список · 100" in buttons and "✅ Принял" not in buttons
        silences = await repos.alert_state.silences(GROUP)
        assert len(silences) == 100 * 2 + 2 and all(v is None for v in silences.values())
        again = [news(n, "driver.roaming", key="again") for n in range(100)]
        assert await h.app.pipeline.commit("test", again, None) == 0

        # «Тишина 1 ч» on the next summary silences each of its subjects.
        await h.app.pipeline.commit("test", [news(n, "driver.late") for n in range(200, 240)], None)
        await eventually(lambda: all_sent(h))
        second = storm_messages(h)[-1]
        h.press(ADMIN, second, "Тишина")
        await h.emu.wait_for_event(
            lambda c: c.method == "answerCallbackQuery" and "Тишина" in c.params.get("text", "")
        )
        timed = await repos.alert_state.timed_silences(GROUP, 0, utcnow())
        assert len(timed) == 40
        # (its toast names them as far as Telegram's 200 characters allow)
        assert not refused(h)


async def test_entering_and_leaving_a_storm(tmp_path):
    async with group_bot(tmp_path, send_limits=TIGHT) as h:
        assert h.app is not None
        sender = h.app.sender
        # Calm: a few alerts go out as always.
        await h.app.pipeline.commit("test", [news(n, "driver.late") for n in range(3)], None)
        await eventually(lambda: all_sent(h))
        assert h.emu.messages(GROUP)[-1]["text"].startswith("🔔 3 оповещения")

        # A storm: more than two messages' worth at once.
        await h.app.pipeline.commit("test", storm_of(100), None)
        await eventually(lambda: all_sent(h))
        assert len(storm_messages(h)) == 1 and sender.storm.chats() == [GROUP]
        status = await h.say(ADMIN, "/status", expect=lambda m: "Шторм" in m["text"])
        assert "«Диспетчерская»: с " in status["text"] and "отправлено 200" in status["text"]

        # While it lasts, even one alert goes as a line (no flapping back and forth)...
        await h.app.pipeline.commit("test", [news(500, "driver.late")], None)
        line = await h.emu.wait_for_message(GROUP, lambda m: "Водитель №500" in m["text"])
        assert line["text"].splitlines()[1].startswith("🔴 Водитель №500 — Водитель опаздывает")
        assert "идут сводкой" not in line["text"]  # said once, in the first storm message

        # ...until it has been calm for a while (the clock is moved): one line says it ended.
        sender.storm._storms[GROUP].dense_at = utcnow() - timedelta(seconds=61)
        sender.wake()
        ended = await h.emu.wait_for_message(GROUP, lambda m: "закончился" in m["text"])
        assert re.match(
            r"🌤 Шторм оповещений закончился \(начался в \d\d\.\d\d \d\d:\d\d\): "
            r"сводками отправлено 201 оповещение\.",
            ended["text"],
        )
        await eventually(lambda: _storms_left(h, 0))
        assert metric(h, "logibot_alert_storm_chats") == 0

        # Back to normal.
        await h.app.pipeline.commit("test", [news(501, "driver.late")], None)
        back = await h.emu.wait_for_message(GROUP, lambda m: "Водитель №501" in m["text"])
        assert back["text"].startswith("🔴 Водитель опаздывает")
        assert not refused(h)


async def _storms_left(h: BotHarness, count: int) -> bool:
    assert h.app is not None
    return len(await h.app.repos.alert_storms.all()) == count


async def test_storm_mode_off_sends_as_always(tmp_path):
    off = replace(TIGHT, storm=False)
    async with group_bot(tmp_path, send_limits=off) as h:
        assert h.app is not None
        await h.app.pipeline.commit("test", storm_of(60), None)
        await eventually(lambda: all_sent(h), timeout=10)
        assert not storm_messages(h)
        assert all(m["text"].startswith("🔔") for m in h.emu.messages(GROUP)[1:])
