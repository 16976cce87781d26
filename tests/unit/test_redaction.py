import io
import json
import logging

from hypothesis import given
from hypothesis import strategies as st

from bot.logging_setup import setup_logging
from integrations.redact import redact_text, redact_url


def test_movizor_key_in_query_is_masked():
    url = "https://movizor.ru/api/acme/pos_last/?key=s3cr3t-KEY&phone=79991234567"
    assert redact_url(url) == "https://movizor.ru/api/acme/pos_last/?key=***&phone=79991234567"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1, max_size=40))
def test_any_key_value_is_masked(secret):
    assert redact_url(f"http://h/p/?a=1&key={secret}&b=2") == "http://h/p/?a=1&key=***&b=2"


def test_known_secrets_never_reach_the_log():
    stream = io.StringIO()
    token = "123456:AAH-very-secret-token"
    setup_logging("DEBUG", "json", [token, "movizor-key-42"], stream=stream)
    log = logging.getLogger("test")
    log.info("calling https://api.telegram.org/bot%s/getMe", token)
    log.warning("movizor said no for key=%s", "movizor-key-42")
    try:
        raise RuntimeError(f"failed with token {token}")
    except RuntimeError:
        log.exception("boom")
    output = stream.getvalue()
    assert token not in output and "movizor-key-42" not in output
    assert output.count("***") >= 3


def test_extra_fields_of_json_lines_are_redacted_too():
    """`extra=` context becomes JSON fields: it goes through the same redaction (real handler)."""
    stream = io.StringIO()
    token = "123456:AAH-very-secret-token-0042"
    setup_logging("DEBUG", "json", [token, "alta-pass-99"], stream=stream)
    logging.getLogger("test").warning(
        "upstream failed",
        extra={"url": "https://x/api?key=s3cr3t&a=1", "detail": f"bot{token} / alta-pass-99"},
    )
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["url"] == "https://x/api?key=***&a=1"
    assert token not in line["detail"] and "alta-pass-99" not in line["detail"]


def test_stored_error_texts_lose_tokens_and_keys():
    text = (
        "ClientError: https://api.telegram.org/bot123456:SANDBOX-TOKEN-not-a-real-one/sendMessage"
    )
    assert redact_text(text) == "ClientError: https://api.telegram.org/bot***/sendMessage"
    assert redact_text("GET /api/x/?key=abc&y=1") == "GET /api/x/?key=***&y=1"
