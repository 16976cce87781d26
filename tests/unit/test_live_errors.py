"""Which Bot API errors end a /follow, and which only delay it."""

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetMe

from handlers.movizor.live_errors import Outcome, judge

METHOD = GetMe()


@pytest.mark.parametrize(
    "description",
    [
        "Bad Request: message to edit not found",
        "Bad Request: message can't be edited",
        "Bad Request: MESSAGE_ID_INVALID",
        "Bad Request: chat not found",
    ],
)
def test_telegram_saying_the_message_is_gone_ends_it(description):
    assert judge(TelegramBadRequest(METHOD, description)).verdict == "gone"


def test_a_chat_that_refuses_the_bot_ends_it():
    error = TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user")
    assert judge(error).verdict == "gone"


def test_a_group_that_became_a_supergroup_moves_it_there():
    error = TelegramMigrateToChat(METHOD, "Bad Request: group chat was upgraded", -1001234)
    assert judge(error) == Outcome("moved", new_chat_id=-1001234)


def test_429_network_and_server_errors_only_delay_it():
    flood = judge(TelegramRetryAfter(METHOD, "Too Many Requests: retry after 7", 7))
    assert (flood.verdict, flood.retry_after) == ("flood", 7)
    assert judge(TelegramNetworkError(METHOD, "connection reset")).verdict == "network"
    assert judge(TelegramServerError(METHOD, "Bad Gateway")).verdict == "network"


def test_not_modified_is_success_and_anything_else_is_retried():
    same = TelegramBadRequest(METHOD, "Bad Request: message is not modified: ...")
    assert judge(same).verdict == "done"
    odd = TelegramBadRequest(METHOD, "Bad Request: wrong horizontal accuracy")
    assert judge(odd).verdict == "retry"
