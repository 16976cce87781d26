"""/status's lines about escalations: each open chain, its step, and whom Telegram refused."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.alerts.render import kind_title, subject_name
from bot.escalation import chain as chains
from bot.texts import format_time
from integrations.base import Alert
from storage import Repos

SHOWN = 20


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
            if copy.error:
                person = await repos.users.get(copy.chat_id) if copy.chat_id > 0 else None
                who = person.full_name if person else str(copy.chat_id)
                lines.append(
                    _("status.escalation_refused").format(
                        who=html.quote(who), reason=html.quote(copy.error[:120])
                    )
                )
    if len(open_chains) > SHOWN:
        lines.append(_("status.escalations_more"))
    return lines
