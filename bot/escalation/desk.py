"""One tap stops it everywhere: ending a chain and saying so on every copy.

«✅ Принял» or «🔕 Тишина» on the group's alert, on the repeat in the chat or on a private copy
ends the chain of that subject (and kind) in that chat; then every copy it sent is edited to say
who took it and when (the buttons go). Taken from a copy, the group's own alert is edited too
and the subject is acknowledged (or silenced) in the group as if pressed there. A chain that
cleared by itself (back on route, a crew assigned…) gets the same edits with what happened.

A chain is closed in the database first and its copies are owed the edit (``notice``); the one
caller that takes the owed edits makes them (the button's handler at once, else the escalation
job: a chain that cleared by itself, a press whose handler died before it took them).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import Message

from bot.alerts.pipeline import severity_of
from bot.alerts.render import RenderContext, render_alert
from bot.alerts.sender import chat_context
from bot.escalation.messages import SILENCE_HOURS, closing_line
from bot.history.recorder import ActionRecorder
from bot.i18n import PoI18n
from bot.metrics import Metrics
from integrations.base import Alert
from storage import Repos
from storage.db import utcnow
from storage.escalations import Escalation
from storage.users import User

log = logging.getLogger(__name__)
ACK, SILENCE = "ack", "silence"
FROM_COPY = ":copy"  # the reason's suffix when the tap was not on the group's own alert


class EscalationDesk:
    def __init__(
        self, bot: Bot, repos: Repos, i18n: PoI18n, metrics: Metrics, default_tz: ZoneInfo
    ) -> None:
        self.bot = bot
        self.repos = repos
        self.i18n = i18n
        self.metrics = metrics
        self.default_tz = default_tz

    async def take(self, chain: Escalation, user: User, act: str, *, on_copy: bool) -> bool:
        """``user`` took the alert (``act``: ack or silence); False when it had ended already."""
        now = utcnow()
        reason = act + (FROM_COPY if on_copy else "")
        if not await self.repos.escalations.close(
            chain.id, state="acked", by=user.id, reason=reason, now=now
        ):
            return False
        self.metrics.escalation_acks.observe((now - chain.opened_at).total_seconds())
        # The digests' «эскалации: …, медиана до принятия …» and /report count these.
        await ActionRecorder(self.repos).escalation_acked(
            chain.chat_id,
            chain.thread_id,
            chain.subject_key,
            raised_at=chain.opened_at,
            acked_at=now,
            by=user.id,
            escalation_id=str(chain.id),
        )
        if on_copy:  # the group's alert is taken too, as if pressed there
            until = None if act == ACK else now + timedelta(hours=SILENCE_HOURS)
            await self.repos.alert_state.silence(
                chain.chat_id,
                chain.thread_id,
                chain.subject_key,
                kind=chain.kind if act == ACK else "",
                until=until,
                by=user.id,
            )
        await self.repos.audit.record(
            user.id,
            f"escalation.{act}",
            chain.chat_id,
            subject=chain.subject_key,
            kind=chain.kind,
        )
        await self.announce(chain.id)
        return True

    async def take_in_chat(
        self,
        chat_id: int,
        thread_id: int,
        pairs: list[tuple[str, str]],
        user: User,
        act: str,
    ) -> None:
        """The group's own alert was taken: its open chains end (a silence ends every kind of
        the subject's, an ack the kinds acknowledged)."""
        subjects = {subject for subject, _kind in pairs}
        for chain in await self.repos.escalations.open_of(chat_id, thread_id, subjects):
            if act == SILENCE or (chain.subject_key, chain.kind) in pairs:
                await self.take(chain, user, act, on_copy=False)

    async def announce_owed(self) -> None:
        """Edits owed after a crash or by chains that cleared by themselves."""
        for chain in await self.repos.escalations.with_notice():
            await self.announce(chain.id)

    async def announce(self, escalation_id: int) -> None:
        """Edit the copies of an ended chain, once (whoever takes the owed edits makes them)."""
        if not await self.repos.escalations.take_notice(escalation_id):
            return
        chain = await self.repos.escalations.get(escalation_id)
        if chain is None:
            return
        taker = await self.repos.users.get(chain.closed_by) if chain.closed_by else None
        name = taker.full_name if taker else None
        for copy in await self.repos.escalations.copies(chain.id):
            if copy.message_id is None:
                continue
            thread = chain.thread_id if copy.chat_id == chain.chat_id else 0
            ctx = await chat_context(self.repos, self.i18n, self.default_tz, copy.chat_id, thread)
            line = closing_line(chain, name, ctx)
            if line is not None:
                await self._edit(copy.chat_id, copy.message_id, f"{copy.text}\n\n{line}")
        if (chain.closed_reason or "").endswith(FROM_COPY):
            await self._mark_group_alert(chain, name)

    async def mark_unrecorded(self, message: Message, escalation_id: int) -> None:
        """A copy taken before its step recorded it: edited from what Telegram showed."""
        chain = await self.repos.escalations.get(escalation_id)
        if chain is None:
            return
        taker = await self.repos.users.get(chain.closed_by) if chain.closed_by else None
        thread = chain.thread_id if message.chat.id == chain.chat_id else 0
        ctx = await chat_context(self.repos, self.i18n, self.default_tz, message.chat.id, thread)
        line = closing_line(chain, taker.full_name if taker else None, ctx)
        if line is not None:
            await self._edit(message.chat.id, message.message_id, f"{message.html_text}\n\n{line}")

    async def _mark_group_alert(self, chain: Escalation, name: str | None) -> None:
        """The group's alert says who took it from elsewhere: edited when the message shows
        only this subject, else a reply under it (the others in it still wait)."""
        row = await self.repos.outbox.of_alert(chain.chat_id, chain.thread_id, chain.dedupe_key)
        if row is None or row.message_id is None:
            return
        ctx = await chat_context(
            self.repos, self.i18n, self.default_tz, chain.chat_id, chain.thread_id
        )
        line = closing_line(chain, name, ctx)
        if line is None:
            return
        rows = await self.repos.outbox.rows_of_message(chain.chat_id, row.message_id)
        if len(rows) == 1:
            body = _alert_text(chain, ctx)
            await self._edit(chain.chat_id, row.message_id, f"{body}\n\n{line}")
            return
        try:
            await self.bot.send_message(
                chain.chat_id,
                line,
                message_thread_id=chain.thread_id or None,
                reply_to_message_id=row.message_id,
                allow_sending_without_reply=True,
            )
        except TelegramAPIError as exc:
            log.info("escalation %s: no line under the group's alert: %s", chain.id, exc)

    async def _edit(self, chat_id: int, message_id: int, text: str) -> None:
        try:
            await self.bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=None
            )
        except TelegramBadRequest as exc:
            # "not modified": an owed edit redone; "not found": deleted by someone. Both fine.
            log.info("escalation copy %s/%s not edited: %s", chat_id, message_id, exc.message)
        except TelegramAPIError as exc:
            log.warning("escalation copy %s/%s not edited: %s", chat_id, message_id, exc)


def _alert_text(chain: Escalation, ctx: RenderContext) -> str:
    alert = Alert.from_json(chain.payload)
    return render_alert(alert, severity_of(alert), ctx).html
