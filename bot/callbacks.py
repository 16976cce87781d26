"""The shared buttons' callback data; each service keeps its own in
handlers/<service>/callbacks.py.

Short prefixes and ids keep every button under Telegram's 64 bytes.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class AccessRequestCb(CallbackData, prefix="ar"):
    """An admin's answer to a stranger's access request."""

    user_id: int
    role: str  # "viewer" | "dispatcher" | "-" (ignore)


class ChatStatusCb(CallbackData, prefix="cs"):
    chat_id: int
    status: str  # "approved" | "disabled"


class ConfirmCb(CallbackData, prefix="ok"):
    """Yes / no on a one-shot confirmation (see storage.confirmations)."""

    token: str
    yes: bool


class AlertAckCb(CallbackData, prefix="aa"):
    """ "✅ Принял" under an alert; ``row`` is the message's first outbox row id."""

    row: int


class AlertSilenceCb(CallbackData, prefix="as"):
    """ "🔕 Тишина 1 ч" under an alert; ``row`` is the message's first outbox row id."""

    row: int


class EscalationCb(CallbackData, prefix="ea"):
    """ "✅ Принял" / "🔕 Тишина 1 ч" under an escalation's copy (in private or its repeat in the
    chat): ``id`` the escalation, ``act`` "a" (ack) or "s" (silence)."""

    id: int
    act: str


class AlertListCb(CallbackData, prefix="al"):
    """ "📋" under a storm summary, and the pages of the list it opens. ``row``: the first
    outbox row of what is listed (the summary message's own rows, found by the message it was
    sent as, so the list needs nothing stored beyond the outbox); ``kind``: 1 lists only that
    row's kind, 0 the whole message."""

    row: int
    kind: int = 0
    page: int = 0


class AlertOpenCb(CallbackData, prefix="ao"):
    """A subject in such a list: open its alerts in full; ``row``: its latest row there."""

    row: int


class AlertSubjectCb(CallbackData, prefix="au"):
    """ "✅ Принял" / "🔕 Тишина 1 ч" under a subject opened from a list: they act on that
    subject only (its rows in the summary). ``act``: "a" (ack) or "s" (silence)."""

    row: int
    act: str


class SubscriptionsCb(CallbackData, prefix="sb"):
    """A tap on the subscription keyboard.

    ``view``: "a" (areas) or "k" (single kinds, page ``page``); ``sel``: what to toggle —
    "*" for all, an area name, or a kind name (kinds have a dot, areas don't); "" just shows.
    Names rather than indexes, so an old keyboard never toggles a different kind after a
    release adds one.
    """

    view: str
    page: int = 0
    sel: str = ""


class DigestListCb(CallbackData, prefix="dg"):
    """A digest's «🚚 Водители» / «📋 Задачи»… button, and the pages of the list it opens:
    the area's events of the digest's window (``start``: its first second, Unix time; the
    window is 24 hours), read back from the history of the chat pressed in."""

    area: str  # d(rivers) t(asks) x (taxi) w(agons) e(scalations)
    start: int
    page: int = 0
    turn: int = 0  # 1 on a list's own page buttons (edit the list), 0 under the digest
