import pytest

from sandbox.harness import BotHarness
from storage.users import Role

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


async def seat(
    h: BotHarness, groups: dict[int, str], people: dict[int, tuple[str, Role, int | None]]
) -> None:
    """Supergroups the admin added the bot to (so they are approved), and people with a role,
    each a member of the group named (None: of none)."""
    for group, title in groups.items():
        h.emu.add_group(group, title, supergroup=True)
        h.emu.add_bot_to_group(ADMIN, group)
        await h.emu.wait_for_message(group, lambda m: "подключил" in m.get("text", ""))
    for user_id, (name, role, member_of) in people.items():
        h.emu.add_user(user_id, name)
        await h.app.repos.users.set_role(user_id, role, by=ADMIN)
        if member_of is not None:
            h.emu.set_member_status(member_of, user_id, "member")
