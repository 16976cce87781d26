"""/status's lines about escalations: each open chain, its step, and whom Telegram refused."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.alerts.render import kind_title, subject_name
from bot.escalation import chain as chains
from bot.escalation.engine import BLOCKED, MUTED, NOBODY_ON_CALL, NOT_STARTED
from bot.texts import format_time
from handlers.chat_names import chat_title
from integrations.base import Alert
from storage import Repos

SHOWN = 20
REASONS = {
    NOT_STARTED: "esc.refused.not_started",
    BLOCKED: "esc.refused.blocked",
    NOBODY_ON_CALL: "esc.refused.nobody_on_call",
    MUTED: "esc.refused.muted",
}


async def escalation_lines(repos: Repos, timezone: ZoneInfo) -> list[str]:
    open_chains = await repos.escalations.open_chains(SHOWN + 1)
    if not open_chains:
        return []
    locale = get_i18n().current_locale
    lines = ["", _("status.escalations").format(count=await repos.escalations.count_open())]
    for chain in open_chains[:SHOWN]:
        group = await repos.chats.get(chain.chat_id)
        alert = Alert.from_json(chain.payload)
        total = chains.total_steps(chains.from_json(chain.steps), chain.rounds)
        lines.append(
            _("status.escalation").format(
                chat=html.quote((group.title if group else "") or str(chain.chat_id)),
                kind=html.quote(kind_title(chain.kind, locale)),
                subject=html.quote(subject_name(alert.subject)),
                step=min(chain.step + 1, total),
                total=total,
                next=format_time(chain.next_at, timezone),
            )
        )
        for copy in await repos.escalations.copies(chain.id):
            if copy.error in (NOBODY_ON_CALL, MUTED):
                lines.append(_("status.escalation_note").format(note=_(REASONS[copy.error])))
            elif copy.error:
                reason = REASONS.get(copy.error)
                lines.append(
                    _("status.escalation_refused").format(
                        who=html.quote(await chat_title(repos, copy.chat_id)),
                        reason=_(reason) if reason else html.quote(copy.error[:120]),
                    )
                )
    if len(open_chains) > SHOWN:
        lines.append(_("status.escalations_more"))
    return lines
