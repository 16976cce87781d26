"""/wagon add <numbers…>: check every number (nothing is sent when one is wrong), look up which
are on tracking already (by this chat or anyone on the account), show a summary whose settings
change with buttons (region, mode, report times, days, stop rule, and for numbers on tracking
already: watch the existing request or put them on tracking again), and put them on tracking
once «✅ Поставить» is pressed — exactly once, whatever the network does (handlers/alta/adds.py).
The chat then watches every number: a first snapshot per number and this chat's subscription.

Without numbers the bot asks for them (ForceReply in groups, so it works under privacy mode).
"""

from __future__ import annotations

import logging
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.confirm import ask_to_confirm, confirm_keyboard, on_confirm, on_decline
from bot.i18n import PoI18n
from bot.ownership import Ownership, Viewer
from bot.prompts import ask
from bot.settings.values import SettingsValues
from bot.texts import error_html
from handlers.alta.adds import AltaAdds, Outcome, send_list
from handlers.alta.callbacks import AltaAddCb
from handlers.alta.lookup import AltaLookup
from handlers.alta.owners import refuse, sights_of, tell_owners
from handlers.alta.settings import add_defaults
from handlers.alta.summary import (
    SETTINGS,
    changed,
    existing_of,
    foreign_of,
    numbers_text,
    outcome_lines,
    render_summary,
    settings_rows,
    to_send,
    yes_text,
)
from integrations.alta.client import AltaClient
from integrations.alta.errors import AltaError, AltaRequestNotFound, number_problem_message
from integrations.alta.numbers import ParsedNumbers, split_numbers
from storage import Repos
from storage.alta import AddAttempt
from storage.confirmations import Confirmation
from storage.users import User

log = logging.getLogger("handlers.alta")

# One add, one request per kind: more than this is refused with a sentence (Telegram's 4096
# characters hold about 450 wagon numbers anyway).
MAX_NUMBERS: Final = 500
PROBLEMS_SHOWN: Final = 20


class AltaFlow(StatesGroup):
    numbers = State()


def topic_of(message: Message) -> int:
    return (message.message_thread_id if message.is_topic_message else None) or 0


async def wagon_add(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    repos: Repos,
    user: User,
    settings_values: SettingsValues,
    i18n: PoI18n,
    alta_lookup: AltaLookup,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
) -> None:
    text = (command.args or "").strip()[len("add") :].strip()
    if not text:
        await state.clear()
        await state.set_state(AltaFlow.numbers)
        await ask(message, _("alta.add.ask_numbers"))
        return
    await summarize(
        message,
        text,
        state,
        repos,
        user,
        settings_values,
        i18n,
        alta_lookup,
        (viewer, ownership),
        timezone,
    )


async def numbers_typed(
    message: Message,
    state: FSMContext,
    repos: Repos,
    user: User,
    settings_values: SettingsValues,
    i18n: PoI18n,
    alta_lookup: AltaLookup,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
) -> None:
    text = message.text or ""
    await summarize(
        message,
        text,
        state,
        repos,
        user,
        settings_values,
        i18n,
        alta_lookup,
        (viewer, ownership),
        timezone,
    )


def problems_text(parsed: ParsedNumbers, locale: str) -> str | None:
    if parsed.problems:
        lines = [number_problem_message(p, locale) for p in parsed.problems[:PROBLEMS_SHOWN]]
        if len(parsed.problems) > PROBLEMS_SHOWN:
            lines.append(_("alta.card.more").format(count=len(parsed.problems) - PROBLEMS_SHOWN))
        return _("alta.add.bad_numbers").format(problems=html.quote("\n".join(lines)))
    if not parsed.valid:
        return _("alta.add.no_numbers")
    if len(parsed.valid) > MAX_NUMBERS:
        return _("alta.add.too_many").format(max=MAX_NUMBERS)
    return None


async def summarize(
    message: Message,
    text: str,
    state: FSMContext,
    repos: Repos,
    user: User,
    settings_values: SettingsValues,
    i18n: PoI18n,
    lookup: AltaLookup,
    seen: tuple[Viewer, Ownership],
    timezone: ZoneInfo,
) -> None:
    """Check the numbers (all of them, before anything is sent), look up which are on tracking
    already (and which of those are another chat's: left alone), then show the summary."""
    parsed = split_numbers(text)
    problem = problems_text(parsed, i18n.current_locale)
    if problem is not None:
        log.info(
            "wagon add refused: %s",
            [(p.number, p.reason.value) for p in parsed.problems[:20]] or "no numbers",
            extra={"chat_id": message.chat.id, "user_id": user.id},
        )
        # It says «пришлите ещё раз»: the next message (a reply, in a group) is taken as numbers.
        await state.set_state(AltaFlow.numbers)
        await ask(message, problem)
        return
    await state.clear()
    defaults = await add_defaults(settings_values)
    check = await lookup.on_tracking(parsed.valid)
    viewer, ownership = seen
    sights = await sights_of(viewer, ownership, check.found)
    foreign = sorted(number for number, sight in sights.items() if not sight.allowed)
    if len(foreign) == len(parsed.valid):  # nothing here is theirs to put on tracking
        await refuse(message, foreign, viewer)
        return
    payload: dict[str, Any] = {
        "wagons": parsed.wagons,
        "containers": parsed.containers,
        "existing": {
            number: {"hash": known.request_hash, "since": known.since}
            for number, known in check.found.items()
        },
        "foreign": foreign,
        "unchecked": check.unchecked,
        "check_failed": check.failed,
        "reuse": True,
        **defaults,  # region, mode, times, days, stop: the settings' values now
        "thread": topic_of(message),
        "locale": i18n.current_locale,
        "defaults": {key: defaults[key] for key in ("times", "days", "stop")},
    }
    await ask_to_confirm(
        message,
        repos,
        user_id=user.id,
        action="alta.add",
        payload=payload,
        question=render_summary(payload, timezone),
        yes_text=yes_text(payload),
        no_text=_("alta.add.btn_no"),
        extra_rows=lambda token: settings_rows(token, payload),
    )


async def setting_pressed(
    callback: CallbackQuery,
    callback_data: AltaAddCb,
    repos: Repos,
    user: User,
    timezone: ZoneInfo,
) -> None:
    pending = await repos.confirmations.pending(callback_data.token, user_id=user.id)
    if pending is None or pending.action != "alta.add" or callback_data.what not in SETTINGS:
        await callback.answer(_("confirm.used"), show_alert=True)
        return
    payload = changed(dict(pending.payload), callback_data.what)
    if not await repos.confirmations.update_payload(
        callback_data.token, user_id=user.id, payload=payload
    ):
        await callback.answer(_("confirm.used"), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            render_summary(payload, timezone),
            reply_markup=confirm_keyboard(
                callback_data.token,
                yes_text=yes_text(payload),
                no_text=_("alta.add.btn_no"),
                rows=settings_rows(callback_data.token, payload),
            ),
        )


# --- putting them on tracking ----------------------------------------------------------------


async def cancel_first(alta: AltaClient, replace: dict[str, str], i18n: PoI18n) -> str | None:
    """Put on tracking AGAIN: the numbers leave their old requests first, so no old request
    stays billed while nobody watches it. None when done, else what went wrong (nothing was
    put on tracking then)."""
    by_hash: dict[str, list[str]] = {}
    for number, request_hash in replace.items():
        by_hash.setdefault(request_hash, []).append(number)
    for request_hash, numbers in by_hash.items():
        try:
            await alta.cancel_track(request_hash, numbers)
        except AltaRequestNotFound:
            continue  # gone already: nothing billed there
        except AltaError as exc:
            log.warning("wagon add again: cancel of %s failed: %s", request_hash, exc)
            return _("alta.add.again_failed").format(
                numbers=numbers_text(numbers, 10),
                hash=html.quote(request_hash),
                error=error_html(exc, i18n.current_locale),
            )
    return None


@on_confirm("alta.add", rule="wagon add")
async def add_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    alta: AltaClient,
    alta_adds: AltaAdds,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
    i18n: PoI18n,
) -> str:
    payload = dict(confirmation.payload)
    existing = existing_of(payload)
    # Checked again when pressed: a number may have become another chat's meanwhile.
    sights = await sights_of(viewer, ownership, existing)
    foreign = {number for number, sight in sights.items() if not sight.allowed}
    foreign |= set(foreign_of(payload))
    payload["foreign"] = sorted(foreign)
    send = to_send(payload)
    reuse = bool(payload.get("reuse", True))
    watch = {n: str(k["hash"]) for n, k in existing.items() if n not in foreign} if reuse else {}
    replace = {n: str(existing[n]["hash"]) for n in send if n in existing}
    thread = int(str(payload.get("thread") or 0))
    if replace:
        failed = await cancel_first(alta, replace, i18n)
        if failed is not None:
            return failed
        await tell_owners(ownership, viewer, {n: sights[n] for n in replace}, "retracked")
    outcome = None
    if send:
        attempt = await alta_adds.start(
            chat_id=confirmation.chat_id,
            thread_id=thread,
            user_id=confirmation.user_id,
            payload=send_list(payload, send),
        )
        outcome = await alta_adds.place(attempt)
        if outcome.state == "unknown":
            await offer_retry(callback, repos, attempt)
    if watch:
        await alta_adds.watch(
            confirmation.chat_id,
            thread,
            confirmation.user_id,
            watch,
            stop=str(payload.get("stop") or "yes"),
        )
    lines = outcome_lines(outcome, send, list(watch), error_of(outcome, i18n), foreign_of(payload))
    return "\n".join(lines)


def error_of(outcome: Outcome | None, i18n: PoI18n) -> str:
    if outcome is None or outcome.error is None:
        return ""
    return error_html(outcome.error, i18n.current_locale)


async def offer_retry(callback: CallbackQuery, repos: Repos, attempt: AddAttempt) -> None:
    """After a lost answer that was not found: ask before anything is sent again."""
    if isinstance(callback.message, Message):
        await ask_to_confirm(
            callback.message,
            repos,
            user_id=attempt.user_id,
            action="alta.add_retry",
            payload={"token": attempt.token},
            question=_("alta.add.retry_question"),
            yes_text=_("alta.add.btn_retry"),
            no_text=_("alta.add.btn_no_retry"),
        )


@on_confirm("alta.add_retry", rule="wagon add")
async def retry_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    alta_adds: AltaAdds,
    repos: Repos,
    i18n: PoI18n,
) -> str:
    """Look again first; send again (under the same marker) only if it is still not there."""
    attempt = await repos.alta_adds.get(str(confirmation.payload.get("token")))
    if attempt is None:
        return _("confirm.used")
    outcome = await alta_adds.resolve(attempt.token)
    if outcome.state == "unknown" and not outcome.check_failed:
        outcome = await alta_adds.place(attempt)
    if outcome.state == "unknown":
        await offer_retry(callback, repos, attempt)
    sent = [str(n) for n in attempt.payload.get("send") or []]
    return "\n".join(outcome_lines(outcome, sent, [], error_of(outcome, i18n)))


@on_decline("alta.add_retry")
async def retry_declined(callback: CallbackQuery, confirmation: Confirmation, repos: Repos) -> str:
    """Not «Отменено»: the request may exist after all; the bot keeps looking for it."""
    attempt = await repos.alta_adds.get(str(confirmation.payload.get("token")))
    if attempt is not None and attempt.state in ("sending", "unknown"):
        await repos.alta_adds.set_state(attempt.token, "declined")
    return _("alta.add.retry_declined")
