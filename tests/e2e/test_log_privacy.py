"""Privacy in logs: from INFO up, a phone is masked (+7 999 ***-**-67); only DEBUG may hold it.

A dispatcher's day with Movizor, a typo, an upstream failure and a button, with every record
the bot and its libraries log captured.
"""

import logging
import re

import pytest

from bot.logging_setup import LIBRARY_LOGGERS, quiet_libraries
from tests.e2e.conftest import ADMIN
from tests.e2e.test_drivers import PHONE, has_button, has_text, text
from tests.e2e.test_drivers import harness as harness  # the bot on the Movizor simulator
from tests.e2e.test_drivers import sim as sim

UNKNOWN = "79161112233"  # not on the Movizor account


@pytest.fixture
def production_log_levels():
    """The libraries' levels as `logibot run` sets them (the harness leaves them alone)."""
    saved = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    quiet_libraries(logging.INFO)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def leaked(record: logging.LogRecord) -> str | None:
    """The national digits of a test phone, if the record carries them in any form."""
    parts = [record.getMessage(), *(str(v) for v in vars(record).values() if isinstance(v, str))]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    digits = re.sub(r"\D", "", " ".join(parts))
    return next((p for p in (PHONE[1:], UNKNOWN[1:]) if p in digits), None)


async def test_no_full_phone_is_logged_at_info_or_above(
    harness, sim, caplog, production_log_levels
):
    caplog.set_level(logging.DEBUG)
    card = await harness.say(ADMIN, "/locate +7 (999) 123-45-67", expect=has_button("Обновить"))
    await harness.say(ADMIN, "/locate 8 916 111-22-33", expect=has_text("нет в Movizor"))
    sim.fail_next("get_operator", 500, times=3)
    failed = await harness.say(ADMIN, f"/operator {PHONE}", timeout=10)
    assert "недоступен" in text(failed)
    harness.press(ADMIN, card, "Обновить")
    await harness.emu.wait_for_message(ADMIN, has_text("Запрашиваю"), timeout=5)
    await harness.say(ADMIN, f"/follow {PHONE}", expect=has_text("/unfollow"))
    question = await harness.say(ADMIN, f"/untrack {PHONE}")
    harness.press(ADMIN, question, "Да")
    await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "Отключено" in c.params["text"], start=0
    )

    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert loud, "nothing was logged at INFO: the check would prove nothing"
    assert [r.getMessage() for r in loud if leaked(r)] == []
    # DEBUG may keep the whole number (for the one debugging a deployment).
    assert any(leaked(r) for r in caplog.records if r.levelno == logging.DEBUG)
