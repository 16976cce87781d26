"""Direct replies to commands survive Telegram's flood control: waited out, never dropped."""

from sandbox.harness import BotHarness
from sandbox.telegram_emulator import RateLimits

ADMIN = 81


async def test_replies_past_the_private_chat_limit_all_arrive(tmp_path):
    tight = RateLimits(per_private_chat_per_second=1.0, private_chat_burst=1)
    async with BotHarness(tmp_path, admin_ids=[ADMIN], limits=tight) as h:
        first = h.emu.user_sends(ADMIN, "/start")
        for _ in range(3):
            h.emu.user_sends(ADMIN, "/help")
        replies = []
        after = first["message_id"]
        for _ in range(4):
            reply = await h.emu.wait_for_message(ADMIN, after_message_id=after, timeout=15)
            replies.append(reply["text"])
            after = reply["message_id"]
        assert h.emu.rate_limited_count > 0  # Telegram did push back...
        assert sum("Команды logibot" in text for text in replies) == 3  # ...and nothing was lost
        assert sum("Здравствуйте" in text for text in replies) == 1
        assert all(call.error_code == 429 for call in h.emu.rejected_calls())
