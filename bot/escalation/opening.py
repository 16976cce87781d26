"""Which routed alerts open an escalation chain, and which news ends one by itself.

A chain opens for every urgent (🔴) alert a group (or forum topic) is subscribed to, muted or
not (a muted group gets no copies, but its private steps still go), unless the subject is
acknowledged or silenced there. Whether the chat escalates that kind is its own setting, read
when the escalation job arms the chain: the watcher's transaction reads nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.alerts.kinds import KINDS, RESOLVED_BY
from integrations.base import Alert, Severity
from storage.escalations import NewEscalation, Resolution

# The news that ends a chain, per escalated kind, the other way round.
_ENDS: dict[str, tuple[str, ...]] = {}
for _kind, _enders in RESOLVED_BY.items():
    for _ender in _enders:
        _ENDS[_ender] = (*_ENDS.get(_ender, ()), _kind)


def may_escalate(alert: Alert) -> bool:
    """An urgent alert of a subject's area (never the admins' system news)."""
    spec = KINDS.get(alert.kind)
    if spec is None or spec.area == "system":
        return False
    severity = alert.severity if alert.severity is not None else spec.severity
    return severity >= Severity.HIGH


def chains_for(
    alert: Alert, audience: Iterable[tuple[int, int]], payload: str
) -> list[NewEscalation]:
    """A chain per group (topic) of ``audience``: private chats have nobody else to reach.
    ``payload``: ``alert.to_json()`` (the pipeline's, computed once for the outbox too)."""
    return [
        NewEscalation(chat, thread, alert.subject.key, alert.kind, alert.dedupe_key, payload)
        for chat, thread in sorted(audience)
        if chat < 0
    ]


def resolutions_for(alert: Alert) -> list[Resolution]:
    kinds = _ENDS.get(alert.kind)
    return [Resolution(alert.subject.key, kinds, alert.kind)] if kinds else []
