"""The escalation job: every few seconds it performs the chains' due steps, each exactly once.

    watcher's transaction: an urgent alert routed to a group -> an open chain (due at once)
    job: arm it (the chat's chain and settings, fixed for this chain) -> its first step's time
    job: at each step's time: claim -> send (every message recorded as a copy) -> advance

A step's claim is a lease in the chain's row; the step and the claim's end are one statement.
Killed mid-step, the chain is claimed again after the lease and the step redone, skipping whom
it already reached (their copies are recorded): at most the one message in flight is doubled.
A person Telegram refuses (never started the bot, blocked it: 403) is recorded with the reason
(``/status`` shows it) and the chain goes on. Quiet hours never hold a step back (every chain
is about an urgent alert); a muted group gets no repeat, but the private steps still go.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup, ReplyParameters

from bot.alerts.pipeline import muted
from bot.alerts.sender import chat_context
from bot.escalation import chain as chains
from bot.escalation.messages import chat_copy, keyboard, mention, private_copy
from bot.escalation.oncall import on_call_at
from bot.escalation.prefs import EscalationPrefs
from bot.i18n import PoI18n
from bot.metrics import Metrics
from bot.ownership import Ownership
from integrations.base import Alert
from storage import Repos
from storage.db import utcnow
from storage.escalations import Escalation
from storage.users import Role, User

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # a step's claim; a dead process's chain is taken up after it
RETRY = timedelta(seconds=30)  # the network or Telegram failed a step: tried again then
DUE_BATCH = 100
# Why a step reached nobody there (shown by /status).
NOT_STARTED, BLOCKED = "not_started", "blocked"
NOBODY_ON_CALL, MUTED = "nobody_on_call", "muted"


def refusal(reason: str) -> str:
    """Telegram's refusal as /status words it: a code for the usual two, else its text."""
    lowered = reason.lower()
    if "can't initiate conversation" in lowered or "chat not found" in lowered:
        return NOT_STARTED
    if "blocked" in lowered:
        return BLOCKED
    return reason


class EscalationEngine:
    def __init__(
        self,
        bot: Bot,
        repos: Repos,
        i18n: PoI18n,
        metrics: Metrics,
        ownership: Ownership,
        default_tz: ZoneInfo,
        prefs: EscalationPrefs,
    ) -> None:
        self.bot = bot
        self.repos = repos
        self.i18n = i18n
        self.metrics = metrics
        self.ownership = ownership
        self.default_tz = default_tz
        self.prefs = prefs
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def run_due(self) -> int:
        """Perform every due step now; returns how many steps were performed."""
        done = 0
        for chain in await self.repos.escalations.due(utcnow(), DUE_BATCH):
            try:
                done += await self._take_step(chain)
            except Exception:
                log.exception("escalation %s: step %s failed", chain.id, chain.step)
        return done

    async def _take_step(self, chain: Escalation) -> int:
        now = utcnow()
        repo = self.repos.escalations
        if not await repo.claim(chain.id, chain.step, self.owner, now + LEASE, now):
            return 0  # another process has it, or it ended meanwhile
        if chain.steps is None:
            await self._arm(chain, now)
            return 0
        steps = chains.from_json(chain.steps)
        step = chains.step_at(steps, chain.step)
        try:
            await self._perform(chain, step, len(steps), now)
        except TelegramRetryAfter as exc:
            await repo.release(chain.id, self.owner, now + timedelta(seconds=exc.retry_after))
            return 0
        except (
            TelegramNetworkError,
            TelegramServerError,
            aiohttp.ClientError,
            TimeoutError,
        ) as exc:
            log.warning("escalation %s: step %s postponed: %s", chain.id, chain.step, exc)
            await repo.release(chain.id, self.owner, now + RETRY)
            return 0
        following = chain.step + 1
        next_at = None
        if following < chains.total_steps(steps, chain.rounds):
            next_at = now + timedelta(minutes=chains.step_at(steps, following).wait or 0)
        await repo.advance(chain.id, self.owner, following, next_at, now)
        self.metrics.escalation_steps.labels(step.to).inc()
        log.info("escalation %s: step %s (%s) done", chain.id, chain.step, step.to)
        return 1

    async def _arm(self, chain: Escalation, now: datetime) -> None:
        """Fix the chat's chain for this escalation, or end it when the chat does not escalate
        this kind (or no longer hears alerts)."""
        kinds = await self.prefs.kinds(chain.chat_id, chain.thread_id)
        group = await self.repos.chats.get(chain.chat_id)
        if chain.kind not in kinds or group is None or group.status != "approved":
            await self.repos.escalations.close(
                chain.id, state="off", by=None, reason="not escalated here", now=now
            )
            return
        steps = chains.with_waits(
            chains.from_json(await self.repos.escalations.chain(chain.chat_id, chain.thread_id)),
            await self.prefs.wait(chain.chat_id, chain.thread_id),
        )
        rounds = await self.prefs.rounds(chain.chat_id, chain.thread_id)
        first = chain.opened_at + timedelta(minutes=steps[0].wait or 0)
        await self.repos.escalations.arm(chain.id, self.owner, chains.to_json(steps), rounds, first)

    # --- the steps ------------------------------------------------------------------------------
    async def _perform(
        self, chain: Escalation, step: chains.Step, length: int, now: datetime
    ) -> None:
        alert = Alert.from_json(chain.payload)
        minutes = max(1, int((now - chain.opened_at).total_seconds() // 60))
        if step.to == chains.CHAT:
            await self._repeat_in_chat(chain, alert, minutes, now)
            return
        people: list[User]
        if step.to == chains.ONCALL:
            person = await self.on_call(chain.chat_id, chain.thread_id, now)
            people = [person] if person else await self.dispatchers(chain.chat_id)
            if person is None:
                await self._note(chain, 0, NOBODY_ON_CALL, now)
        elif step.to == chains.PEOPLE:
            found = [await self.repos.users.get(user_id) for user_id in step.people]
            people = [user for user in found if user is not None and user.role is not None]
        elif step.to == chains.DISPATCHERS:
            people = await self.dispatchers(chain.chat_id)
        else:
            people = await self.repos.users.admins()
        # Once a round is enough: the on-call person is one of the dispatchers, an admin may be
        # named too. The next round reaches them again.
        round_start = chain.step - chain.step % length
        reached = {
            copy.chat_id
            for copy in await self.repos.escalations.copies(chain.id)
            if round_start <= copy.step < chain.step and copy.message_id is not None
        }
        title = await self._chat_title(chain.chat_id)
        for person in people:
            if person.id not in reached:
                await self._send_private(chain, person, alert, title, minutes, now)

    async def _repeat_in_chat(
        self, chain: Escalation, alert: Alert, minutes: int, now: datetime
    ) -> None:
        if await self._has_copy(chain, chain.chat_id):
            return
        prefs = await self.repos.subscriptions.prefs(chain.chat_id, chain.thread_id)
        if muted(prefs, now):
            await self._note(chain, chain.chat_id, MUTED, now)
            return
        ctx = await chat_context(
            self.repos, self.i18n, self.default_tz, chain.chat_id, chain.thread_id
        )
        person = await self.on_call(chain.chat_id, chain.thread_id, now)
        name = mention(person.id, person.full_name) if person else None
        text = chat_copy(alert, minutes, name, ctx)
        row = await self.repos.outbox.of_alert(chain.chat_id, chain.thread_id, chain.dedupe_key)
        reply = None
        if row is not None and row.message_id is not None:
            reply = ReplyParameters(message_id=row.message_id, allow_sending_without_reply=True)
        await self._send(
            chain,
            chain.chat_id,
            text,
            keyboard(chain.id, ctx),
            now,
            message_thread_id=chain.thread_id or None,
            reply_parameters=reply,
        )

    async def _send_private(
        self, chain: Escalation, person: User, alert: Alert, title: str, minutes: int, now: datetime
    ) -> None:
        if await self._has_copy(chain, person.id):
            return  # reached before a crash: not twice
        ctx = await chat_context(self.repos, self.i18n, self.default_tz, person.id)
        text = private_copy(alert, title, minutes, ctx)
        await self._send(chain, person.id, text, keyboard(chain.id, ctx), now)

    async def _send(
        self,
        chain: Escalation,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup,
        now: datetime,
        **options: Any,
    ) -> None:
        """Send one copy and record it; a refusal (never started the bot, blocked it, removed
        it from the group) is recorded instead, and the chain goes on (/status says so)."""
        try:
            sent = await self.bot.send_message(chat_id, text, reply_markup=markup, **options)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.info("escalation %s: %s refused: %s", chain.id, chat_id, exc.message)
            await self._note(chain, chat_id, refusal(exc.message), now)
            return
        await self.repos.escalations.add_copy(
            chain.id,
            chain.step,
            chat_id,
            message_id=sent.message_id,
            text=text,
            error=None,
            now=now,
        )

    async def _has_copy(self, chain: Escalation, chat_id: int) -> bool:
        copies = await self.repos.escalations.copies(chain.id)
        return any(c.step == chain.step and c.chat_id == chat_id for c in copies)

    async def _note(self, chain: Escalation, chat_id: int, error: str, now: datetime) -> None:
        await self.repos.escalations.add_copy(
            chain.id, chain.step, chat_id, message_id=None, text="", error=error, now=now
        )

    async def _chat_title(self, chat_id: int) -> str:
        group = await self.repos.chats.get(chat_id)
        return group.title if group is not None and group.title else str(chat_id)

    # --- who -----------------------------------------------------------------------------------
    async def on_call(self, chat_id: int, thread_id: int, now: datetime) -> User | None:
        """The person on call now, if they still may be: a dispatcher (or admin) of the chat."""
        shifts = await self.repos.oncall.of_chat(chat_id, thread_id)
        if not shifts and thread_id:
            shifts = await self.repos.oncall.of_chat(chat_id, 0)
        tz = await self.repos.subscriptions.zone(chat_id, thread_id, self.default_tz)
        user_id = on_call_at(shifts, now, tz)
        if user_id is None:
            return None
        user = await self.repos.users.get(user_id)
        if user is None or user.role is None or not user.role.allows(Role.DISPATCHER):
            return None
        return user if await self.ownership.is_member(chat_id, user_id) else None

    async def dispatchers(self, chat_id: int) -> list[User]:
        """The chat's dispatchers: people with the dispatcher role who are in the group now."""
        found = []
        for user in await self.repos.users.with_role():
            if user.role is Role.DISPATCHER and await self.ownership.is_member(chat_id, user.id):
                found.append(user)
        return found
