"""The update queue and how the bot drains it: getUpdates long polling, webhooks, 409 conflicts.

UpdateQueue holds the updates people's actions produced until the bot confirms them with a
getUpdates offset, remembers allowed_updates between calls like Telegram does, and answers the
409s a real deployment hits: a second poller terminates the first, and getUpdates refuses to
run while a webhook is set.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sandbox.telegram_emulator.common import ApiError, JsonDict, bad_request
from sandbox.telegram_emulator.params import Handler, Params
from sandbox.telegram_emulator.webhook import WebhookConfig, WebhookDelivery, WebhookRetry

MAX_POLL_TIMEOUT = 50.0
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

# Update types Telegram sends when allowed_updates was never set (or set to an empty list).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class PollCut(Exception):
    """A long poll's connection is gone (an outage began while it waited): no answer at all."""


class UpdateQueue:
    """Pending updates, their delivery to getUpdates long polls, and the webhook setting.

    ``on_poller_waiting`` is called whenever a long poll starts waiting (and whenever a webhook
    answered), so the emulator's waits can notice that the bot is up and idle. While a webhook
    is set, the updates go to it instead (webhook.py); ``execute`` runs a Bot API call a
    webhook answered with. ``local_mode`` is a local Bot API server's
    (``telegram-bot-api --local``): a webhook may be plain HTTP on any port.
    """

    def __init__(
        self,
        on_poller_waiting: Callable[[], None],
        *,
        execute: Callable[[str, JsonDict], Awaitable[object]],
        webhook_retry: WebhookRetry,
        local_mode: bool = False,
    ) -> None:
        self._on_poller_waiting = on_poller_waiting
        self.pending: list[JsonDict] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.local_mode = local_mode
        self.webhook = WebhookDelivery(
            self._deliverable_all, self._confirm_one, execute, webhook_retry, on_poller_waiting
        )
        self._poll_generation = 0
        self.pollers_waiting = 0
        self._closing = False
        self._cuts = 0
        self._changed = asyncio.Event()

    def methods(self) -> dict[str, Handler]:
        return {
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }

    def queue(self, kind: str, payload: JsonDict) -> None:
        """Queue one update (a copy of ``payload``) and wake a waiting long poll."""
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        self.pending.append(update)
        self._wake_pollers()
        self.webhook.kick()

    def open(self) -> None:
        self._closing = False

    def close(self) -> None:
        """Answer pending long polls (with whatever is deliverable) instead of letting them wait."""
        self._closing = True
        self._wake_pollers()

    @property
    def webhook_active(self) -> bool:
        return self.webhook.config is not None

    def cut_pollers(self) -> None:
        """The long polls waiting now lose their connection (raise :class:`PollCut`)."""
        self._cuts += 1
        self._wake_pollers()

    def _wake_pollers(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ----------------------------------------------------------------------------------------
    # Bot API methods
    # ----------------------------------------------------------------------------------------

    async def _get_updates(self, p: Params) -> Any:
        """Long polling: confirm by offset, then wait up to ``timeout`` for something new."""
        if self.webhook_active:
            raise ApiError(409, WEBHOOK_ACTIVE)
        self._set_allowed_updates(p.get("allowed_updates"))
        self._confirm_updates(p.opt_int("offset", 0) or 0)
        limit = min(100, max(1, p.opt_int("limit", 100) or 100))
        timeout = min(MAX_POLL_TIMEOUT, max(0, p.opt_int("timeout", 0) or 0))
        self._poll_generation += 1
        generation, cuts = self._poll_generation, self._cuts
        self._wake_pollers()  # an older poll still waiting must give way to this one
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if cuts != self._cuts:
                raise PollCut
            if generation != self._poll_generation:
                raise ApiError(409, TERMINATED)
            if self.webhook_active:  # a webhook was set while this poll waited
                raise ApiError(409, WEBHOOK_ACTIVE)
            batch = self._deliverable_updates(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return batch
            await self._wait_for_updates(remaining)

    async def _wait_for_updates(self, timeout: float) -> None:
        changed = self._changed
        self.pollers_waiting += 1
        self._on_poller_waiting()
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self.pollers_waiting -= 1

    def _set_allowed_updates(self, allowed: Any) -> None:
        """allowed_updates persists between calls; an empty list means "the default set"."""
        if allowed is None:
            return
        if not isinstance(allowed, list) or not all(isinstance(x, str) for x in allowed):
            raise bad_request("can't parse allowed updates JSON object")
        self._allowed_updates = frozenset(allowed) or DEFAULT_UPDATE_TYPES

    def _confirm_updates(self, offset: int) -> None:
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    def _deliverable_updates(self, limit: int) -> list[JsonDict]:
        """Updates of allowed types; others are dropped, as Telegram never stores them."""
        self.pending = [u for u in self.pending if _update_type(u) in self._allowed_updates]
        return copy.deepcopy(self.pending[:limit])

    def _deliverable_all(self) -> list[JsonDict]:
        self.pending = [u for u in self.pending if _update_type(u) in self._allowed_updates]
        return self.pending

    def _confirm_one(self, update_id: int) -> None:
        self.pending = [u for u in self.pending if u["update_id"] != update_id]

    async def _set_webhook(self, p: Params) -> Any:
        url = p.opt_str("url") or ""
        if not url:  # an empty URL removes the webhook, as deleteWebhook does
            return await self._delete_webhook(p)
        self._check_webhook_url(url)
        secret = p.opt_str("secret_token")
        if secret is not None and not SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = min(100, max(1, p.opt_int("max_connections", 40) or 40))
        self._set_allowed_updates(p.get("allowed_updates"))
        if p.flag("drop_pending_updates"):
            self.pending.clear()
        self.webhook.set(WebhookConfig(url, secret, max_connections))
        self._wake_pollers()  # a long poll still waiting gets its 409
        return True

    def _check_webhook_url(self, url: str) -> None:
        parts = urlsplit(url)
        if self.local_mode:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise bad_request("bad webhook: Wrong URL host")
            return
        if parts.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in WEBHOOK_PORTS:
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )

    async def _delete_webhook(self, p: Params) -> Any:
        await self.webhook.delete()
        if p.flag("drop_pending_updates"):
            self.pending.clear()
        return True

    async def _get_webhook_info(self, p: Params) -> Any:
        webhook = self.webhook
        pending = len(self._deliverable_all())
        info: JsonDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if webhook.config is not None:
            info["url"] = webhook.config.url
            info["max_connections"] = webhook.config.max_connections
            if self._allowed_updates != DEFAULT_UPDATE_TYPES:
                info["allowed_updates"] = sorted(self._allowed_updates)
        if webhook.last_error_date is not None:
            info["last_error_date"] = webhook.last_error_date
            info["last_error_message"] = webhook.last_error_message
        return info


def _update_type(update: Mapping[str, Any]) -> str:
    return next(key for key in update if key != "update_id")
