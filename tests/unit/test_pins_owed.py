"""The pins the sender owes a chat: newest place per subject, stale ones dropped, a cap."""

from __future__ import annotations

from bot.alerts.pins_owed import OwedPin, OwedPins
from integrations.base import Location

CHAT = -100


def pin(subject: str, lat: float, at: float, thread: int = 0) -> OwedPin:
    return OwedPin(thread, f"driver:{subject}", Location(lat, 37.0), reply_to=int(lat), owed_at=at)


def drain(owed: OwedPins, now: float) -> list[OwedPin]:
    paid = []
    while (next_pin := owed.next(CHAT, now)) is not None:
        owed.paid(CHAT, next_pin)
        paid.append(next_pin)
    return paid


def test_the_newest_place_of_a_subject_replaces_its_owed_pin():
    owed = OwedPins()
    owed.owe(CHAT, pin("1", 50, at=0))
    owed.owe(CHAT, pin("2", 60, at=1))
    owed.owe(CHAT, pin("1", 70, at=2))
    owed.owe(CHAT, pin("1", 80, at=3, thread=7))  # another topic is another pin
    assert [p.location.latitude for p in drain(owed, now=3)] == [60, 70, 80]
    assert not owed and owed.chats() == []


def test_stale_pins_are_dropped_and_the_oldest_give_way_to_the_cap():
    owed = OwedPins(max_age=10, per_chat=2)
    owed.owe(CHAT, pin("1", 50, at=0))
    owed.owe(CHAT, pin("2", 60, at=5))
    owed.owe(CHAT, pin("3", 70, at=6))  # over the cap: driver 1's pin goes
    assert [p.location.latitude for p in drain(owed, now=15.5)] == [70]  # driver 2's is stale


def test_a_pin_replaced_while_being_sent_stays_owed():
    owed = OwedPins()
    owed.owe(CHAT, pin("1", 50, at=0))
    sending = owed.next(CHAT, now=0)
    assert sending is not None
    owed.owe(CHAT, pin("1", 70, at=1))
    owed.paid(CHAT, sending)
    assert [p.location.latitude for p in drain(owed, now=1)] == [70]


def test_a_migrated_group_keeps_its_pins():
    owed = OwedPins()
    owed.owe(CHAT, pin("1", 50, at=0))
    owed.move(CHAT, -200)
    assert owed.chats() == [-200]
