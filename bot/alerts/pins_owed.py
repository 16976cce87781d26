"""Map pins the sender owes its chats: alerts first, pins with what budget is left.

A map pin (``sendLocation`` under an alert) costs a chat the same share of Telegram's budget as
an alert does (20 messages a minute in a group), yet it adds little: the place is in the
alert's text already. Sent right after every grouped message, up to three pins made each alert
message cost four, and under a sustained stream the alerts queued behind pins. So a pin is
only *owed* when its alert goes out, and the sender pays it later, when the chat has nothing
due and budget to spare (see ``AlertSender._pay_pins``).

- Newest location per subject wins: a subject's later alert replaces its owed pin (which then
  answers the later message).
- Stale pins are dropped (``max_age``): a pin long after its alert is noise, not news.
- At most ``per_chat`` are owed a chat; the oldest give way.

Owed pins live in memory: after a restart they are gone, and nothing is lost that the alert
text does not say.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.base import Location

PIN_MAX_AGE = 300.0  # seconds an owed pin stays worth sending
PINS_PER_CHAT = 20


@dataclass(frozen=True)
class OwedPin:
    thread_id: int
    subject_key: str
    location: Location
    reply_to: int  # the alert message the pin answers
    owed_at: float  # loop time


class OwedPins:
    def __init__(self, *, max_age: float = PIN_MAX_AGE, per_chat: int = PINS_PER_CHAT) -> None:
        self.max_age = max_age
        self.per_chat = per_chat
        # chat -> (thread, subject) -> pin, oldest first (dicts keep insertion order)
        self._owed: dict[int, dict[tuple[int, str], OwedPin]] = {}

    def owe(self, chat_id: int, pin: OwedPin) -> None:
        pins = self._owed.setdefault(chat_id, {})
        key = (pin.thread_id, pin.subject_key)
        pins.pop(key, None)  # the newer place replaces the older, and moves to the back
        pins[key] = pin
        while len(pins) > self.per_chat:
            del pins[next(iter(pins))]

    def next(self, chat_id: int, now: float) -> OwedPin | None:
        """The oldest pin still worth sending (stale ones are dropped on the way)."""
        pins = self._owed.get(chat_id)
        while pins:
            key = next(iter(pins))
            pin = pins[key]
            if now - pin.owed_at <= self.max_age:
                return pin
            del pins[key]
        self._owed.pop(chat_id, None)
        return None

    def paid(self, chat_id: int, pin: OwedPin) -> None:
        """Sent (or given up on): no longer owed, unless a newer place replaced it meanwhile."""
        pins = self._owed.get(chat_id)
        if pins is None:
            return
        key = (pin.thread_id, pin.subject_key)
        if pins.get(key) is pin:
            del pins[key]
        if not pins:
            del self._owed[chat_id]

    def chats(self) -> list[int]:
        return list(self._owed)

    def forget(self, chat_id: int) -> None:
        self._owed.pop(chat_id, None)

    def move(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: its pins answer the same messages under the new id."""
        pins = self._owed.pop(old_id, None)
        if pins:
            for pin in pins.values():
                self.owe(new_id, pin)

    def __bool__(self) -> bool:
        return bool(self._owed)
