"""A task belongs to the chat that made it with /task new (bot/ownership.py): another group
neither sees nor changes it; a member of the group may, in private, and the group hears what
was done from there."""

from __future__ import annotations

from handlers.find.callbacks import FindCb
from storage.users import Role
from tests.e2e.conftest import ADMIN, seat
from tests.e2e.mobiforce.helpers import button_labels, edited_to, has_button, has_text, text
from tests.e2e.mobiforce.helpers import run_wizard as wizard_to_summary
from tests.e2e.mobiforce.test_create import marker_of

GROUP_A, GROUP_B = -100700810, -100700820
MEMBER = 6106  # a dispatcher in group A
STRANGER = 6107  # a dispatcher in group B
NOT_YOURS = "задача другого чата"


async def two_groups(h) -> None:
    await seat(
        h,
        {GROUP_A: "Склад", GROUP_B: "Офис"},
        {
            MEMBER: ("Ольга", Role.DISPATCHER, GROUP_A),
            STRANGER: ("Борис", Role.DISPATCHER, GROUP_B),
        },
    )


async def task_of_group_a(h, sim) -> str:
    """A task made with /task new in group A; its number."""
    summary = await wizard_to_summary(h, sim, chat_id=GROUP_A)
    h.press(ADMIN, summary, "Создать")
    await h.emu.wait_for_event(edited_to("создана"), start=0)
    return marker_of(summary)


def notices(h, chat: int) -> list[str]:
    return [text(m) for m in h.emu.messages(chat) if "Действие из другого чата" in text(m)]


async def test_closing_a_groups_task_from_private_tells_the_group(harness, sim):
    h = harness
    await two_groups(h)
    number = await task_of_group_a(h, sim)

    await h.say(MEMBER, f"/comment {number} Пропуск заказан", expect=has_text("добавлен"))
    told = await h.emu.wait_for_message(GROUP_A, has_text("добавлен комментарий"))
    assert f"№{number}" in text(told) and "Пропуск заказан" in text(told)
    assert "Ольга" in text(told) and "из личного чата" in text(told)

    question = await h.say(MEMBER, f"/close {number} Готово", expect=has_button("Закрыть"))
    h.press(MEMBER, question, "Закрыть")
    await h.emu.wait_for_event(edited_to("завершена"), start=0)
    told = await h.emu.wait_for_message(GROUP_A, has_text("задача закрыта"))
    assert f"№{number}" in text(told) and "Ольга" in text(told) and "Готово" in text(told)
    assert sim.calls_of("close-task") == 1
    # What the group itself does is not told back to it.
    assert len(notices(h, GROUP_A)) == 2
    assert not notices(h, MEMBER)


async def test_another_group_neither_sees_nor_changes_the_groups_task(harness, sim):
    h = harness
    await two_groups(h)
    number = await task_of_group_a(h, sim)
    reads = sim.calls_of("get-task")

    reply = await h.say(STRANGER, f"/task {number}", chat_id=GROUP_B)
    assert NOT_YOURS in text(reply) and "Ромашка" not in text(reply)
    listed = await h.say(STRANGER, "/tasks", chat_id=GROUP_B)
    assert number not in text(listed)
    found = await h.say(STRANGER, f"/find {number}", chat_id=GROUP_B)
    assert NOT_YOURS in text(found) and "Ромашка" not in text(found)
    await h.say(STRANGER, f"/close {number}", chat_id=GROUP_B, expect=has_text(NOT_YOURS))
    await h.say(STRANGER, f"/comment {number} x", chat_id=GROUP_B, expect=has_text(NOT_YOURS))
    assert sim.calls_of("close-task") == 0 and sim.calls_of("create-comment") == 0
    # A /find choice forged for that task is checked again when pressed.
    start = len(h.emu.calls)
    h.emu.client_sends_callback(
        STRANGER, found["message_id"], FindCb(k="t", v=number).pack(), chat_id=GROUP_B
    )
    answer = await h.emu.wait_for_message(
        GROUP_B, has_text(NOT_YOURS), after_message_id=found["message_id"]
    )
    assert "Ромашка" not in text(answer)
    assert not [c for c in h.emu.calls[start:] if "Ромашка" in str(c.params.get("text"))]
    # The group's own members see it there; an admin anywhere.
    card = await h.say(MEMBER, f"/task {number}", chat_id=GROUP_A, expect=has_text("Ромашка"))
    assert "✔️ Закрыть" in button_labels(card)
    assert "Ромашка" in text(await h.say(ADMIN, f"/task {number}", chat_id=GROUP_B))
    assert sim.calls_of("get-task") > reads

    # A task the bot did not make belongs to no chat: anyone with the role sees it.
    template = next(iter(sim.world.templates.values()))
    sim.add_task({"template": {"id": template.id}, "draft": True, "number": "ЗК-5"})
    await h.app.services["mobiforce"].directory.sync()
    card = await h.say(STRANGER, "/task ЗК-5", chat_id=GROUP_B, expect=has_text("№ЗК-5"))
    assert "🔄 Обновить" in button_labels(card)
