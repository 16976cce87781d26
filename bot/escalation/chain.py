"""A chat's escalation chain: its steps, how people write it, how it is shown, its default.

    /escalation 10 чат 10 дежурный 10 диспетчеры 10 админы

A number is the wait (minutes) before the step after it; a step without a number waits the
chat's ``escalation.wait`` setting (10 minutes unless the chat changed it). Steps:

- ``чат``: repeat in the chat as a reply to the alert, naming who is on call;
- ``дежурный``: a private message to the person on call (nobody on call: the dispatchers);
- ``@username``: named people, in private;
- ``диспетчеры``: the chat's dispatchers, in private;
- ``админы``: the admins, in private.

How many times the whole chain runs is the chat's ``escalation.rounds`` setting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

CHAT, ONCALL, PEOPLE, DISPATCHERS, ADMINS = "chat", "oncall", "people", "dispatchers", "admins"
TARGETS = (CHAT, ONCALL, PEOPLE, DISPATCHERS, ADMINS)
MAX_STEPS = 10
MAX_WAIT = 24 * 60  # minutes

WORDS = {
    "чат": CHAT,
    "группа": CHAT,
    "chat": CHAT,
    "group": CHAT,
    "дежурный": ONCALL,
    "дежурному": ONCALL,
    "oncall": ONCALL,
    "on-call": ONCALL,
    "диспетчеры": DISPATCHERS,
    "диспетчерам": DISPATCHERS,
    "dispatchers": DISPATCHERS,
    "админы": ADMINS,
    "админам": ADMINS,
    "admins": ADMINS,
}
_WAIT = re.compile(r"(\d{1,4})\s*(?:м|мин|m|min)?")


@dataclass(frozen=True)
class Step:
    wait: int | None  # minutes after the step before (the alert, for the first); None: the chat's
    to: str
    people: tuple[int, ...] = field(default=())


DEFAULT_CHAIN: tuple[Step, ...] = (
    Step(None, CHAT),
    Step(None, ONCALL),
    Step(None, DISPATCHERS),
    Step(None, ADMINS),
)


class ChainError(ValueError):
    """A chain as written does not work: ``key`` names the rule (a text id), ``params`` fill it."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def to_json(steps: Sequence[Step]) -> str:
    return json.dumps(
        [
            {"wait": s.wait, "to": s.to, **({"people": list(s.people)} if s.people else {})}
            for s in steps
        ]
    )


def from_json(text: str | None) -> tuple[Step, ...]:
    """A stored chain; the default when there is none (or it cannot be read)."""
    if not text:
        return DEFAULT_CHAIN
    try:
        steps = tuple(
            Step(
                None if item.get("wait") is None else int(item["wait"]),
                str(item["to"]),
                tuple(int(p) for p in item.get("people", ())),
            )
            for item in json.loads(text)
        )
    except (ValueError, KeyError, TypeError):
        return DEFAULT_CHAIN
    return steps if steps and all(step.to in TARGETS for step in steps) else DEFAULT_CHAIN


async def parse_chain(
    words: Sequence[str], find_person: Callable[[str], Awaitable[int | None]]
) -> tuple[Step, ...]:
    """The steps ``words`` describe; ``find_person`` turns a @username into a user id (None:
    the bot does not know them). Raises :class:`ChainError` naming the rule broken."""
    steps: list[Step] = []
    wait: int | None = None
    for word in words:
        token = word.strip().lower().rstrip(",")
        if not token or token in {"→", "->", ","}:
            continue
        number = _WAIT.fullmatch(token)
        if number:
            if wait is not None:
                raise ChainError("esc.error.two_waits", word=word)
            wait = int(number.group(1))
            if wait > MAX_WAIT:
                raise ChainError("esc.error.wait_too_long", max=str(MAX_WAIT))
            continue
        if token.startswith("@"):
            person = await find_person(token[1:])
            if person is None:
                raise ChainError("esc.error.unknown_person", name=word)
            if wait is None and steps and steps[-1].to == PEOPLE:  # @a @b: one step
                steps[-1] = Step(steps[-1].wait, PEOPLE, (*steps[-1].people, person))
            else:
                steps.append(Step(wait, PEOPLE, (person,)))
            wait = None
            continue
        target = WORDS.get(token)
        if target is None:
            raise ChainError("esc.error.unknown_word", word=word)
        steps.append(Step(wait, target))
        wait = None
    if wait is not None:
        raise ChainError("esc.error.wait_at_end")
    if not steps:
        raise ChainError("esc.error.empty")
    if len(steps) > MAX_STEPS:
        raise ChainError("esc.error.too_many", max=str(MAX_STEPS))
    if all(step.wait == 0 for step in steps):
        raise ChainError("esc.error.no_wait")
    return tuple(steps)


def with_waits(steps: Sequence[Step], wait: int) -> tuple[Step, ...]:
    """The chain with every unsaid wait filled with the chat's (fixed when a chain is armed)."""
    return tuple(Step(wait if s.wait is None else s.wait, s.to, s.people) for s in steps)


def total_steps(steps: Sequence[Step], rounds: int) -> int:
    return len(steps) * max(1, rounds)


def step_at(steps: Sequence[Step], index: int) -> Step:
    """The step number ``index`` counted over every round."""
    return steps[index % len(steps)]
