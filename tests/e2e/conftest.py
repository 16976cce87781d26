import pytest

from sandbox.harness import BotHarness

ADMIN = 1001
STRANGER = 2002
COLLEAGUE = 3003
GROUP = -4004


@pytest.fixture
async def harness(tmp_path, database_url):
    async with BotHarness(tmp_path, admin_ids=[ADMIN], database_url=database_url) as h:
        h.emu.add_user(STRANGER, "Пётр", last_name="<Иванов>", username="petr_iv")
        h.emu.add_user(COLLEAGUE, "Mary", username="mary", language_code="en")
        yield h
        rejected = h.emu.rejected_calls()
        assert not rejected, f"the Bot API rejected requests: {rejected}"


async def eventually(probe, *, timeout: float = 5.0, interval: float = 0.02):
    """Await ``probe()`` until it returns something truthy (for state the bot writes in the
    background, such as the chats table after a migration); fail after ``timeout``."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
