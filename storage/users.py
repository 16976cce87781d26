"""Users and their roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from storage.db import AnyRow, Database, from_db_time, to_db_time, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return {Role.VIEWER: 1, Role.DISPATCHER: 2, Role.ADMIN: 3}[self]

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank


@dataclass(frozen=True)
class User:
    id: int
    username: str | None
    first_name: str
    last_name: str | None
    language_code: str | None
    role: Role | None
    stranger_notified_at: datetime | None = None

    @property
    def seen(self) -> bool:
        """Has this user ever written to the bot? (A role can be granted by id beforehand.)

        Telegram answers "chat not found" to anything sent to a user who has not, so the bot
        writes only to users it has seen. Telegram's first_name is never empty.
        """
        return bool(self.first_name)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or str(self.id)


_COLUMNS = "id, username, first_name, last_name, language_code, role, stranger_notified_at"


def _user(r: AnyRow) -> User:
    return User(
        id=r.id,
        username=r.username,
        first_name=r.first_name,
        last_name=r.last_name,
        language_code=r.language_code,
        role=Role(r.role) if r.role else None,
        stranger_notified_at=from_db_time(r.stranger_notified_at),
    )


class UsersRepo:
    """Every update reads its user, so the users read are remembered for as long as
    storage/changes.py says they may be (SQLite: always; PostgreSQL: while listening for other
    processes' changes). Every write here forgets its user before and after it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[int, User] = {}
        db.changes.on_change("users", self._forget_key)

    def _forget_key(self, key: str | None) -> None:
        if key is None:
            self._cache.clear()
        else:
            self._cache.pop(int(key), None)

    async def _write(self, user_id: int, sql: str, params: dict[str, object]) -> int:
        """Every write to a user: forgotten before and after it, so a read racing the write
        can neither keep nor store the old row."""
        self.db.changes.changed("users", str(user_id))
        try:
            return await self.db.execute(sql, params)
        finally:
            self.db.changes.changed("users", str(user_id))

    async def get(self, user_id: int) -> User | None:
        changes = self.db.changes
        cached = self._cache.get(user_id) if changes.trusted else None
        if cached is not None:
            return cached
        as_of = changes.generation
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM users WHERE id = :id", {"id": user_id}
        )
        if row is None:
            return None
        user = _user(row)
        if changes.trusted and changes.generation == as_of:  # nothing changed meanwhile
            self._cache[user_id] = user
        return user

    async def find_by_username(self, username: str) -> User | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM users WHERE lower(username) = lower(:username)",
            {"username": username.lstrip("@")},
        )
        return _user(row) if row else None

    async def touch(
        self,
        user_id: int,
        *,
        username: str | None,
        first_name: str,
        last_name: str | None,
        language_code: str | None,
    ) -> None:
        """Remember a user's current profile (names change; roles are kept)."""
        now = to_db_time(utcnow())
        await self._write(
            user_id,
            """
            INSERT INTO users (id, username, first_name, last_name, language_code,
                               created_at, updated_at)
            VALUES (:id, :username, :first_name, :last_name, :language_code, :now, :now)
            ON CONFLICT (id) DO UPDATE SET
                username = excluded.username, first_name = excluded.first_name,
                last_name = excluded.last_name,
                language_code = coalesce(excluded.language_code, users.language_code),
                updated_at = excluded.updated_at
            WHERE users.username IS DISTINCT FROM excluded.username
               OR users.first_name IS DISTINCT FROM excluded.first_name
               OR users.last_name IS DISTINCT FROM excluded.last_name
               OR (excluded.language_code IS NOT NULL
                   AND users.language_code IS DISTINCT FROM excluded.language_code)
            """,
            {
                "id": user_id,
                "username": username,
                "first_name": first_name,
                "last_name": last_name,
                "language_code": language_code,
                "now": now,
            },
        )

    async def set_role(self, user_id: int, role: Role | None, *, by: int | None) -> None:
        now = to_db_time(utcnow())
        await self._write(
            user_id,
            """
            INSERT INTO users (id, role, granted_by, created_at, updated_at)
            VALUES (:id, :role, :by, :now, :now)
            ON CONFLICT (id) DO UPDATE SET role = excluded.role,
                granted_by = excluded.granted_by, updated_at = excluded.updated_at
            """,
            {"id": user_id, "role": role.value if role else None, "by": by, "now": now},
        )

    async def ensure_admins(self, admin_ids: list[int]) -> None:
        """ADMIN_IDS are admins from the first start (and stay admins on every start)."""
        for admin_id in admin_ids:
            user = await self.get(admin_id)
            if user is None or user.role is not Role.ADMIN:
                await self.set_role(admin_id, Role.ADMIN, by=None)

    async def claim_stranger_notice(self, user_id: int, *, not_since: datetime) -> bool:
        """True for exactly one caller per period: the one that should tell the admins.

        Atomic, because a stranger's messages are handled concurrently.
        """
        changed = await self._write(
            user_id,
            "UPDATE users SET stranger_notified_at = :now WHERE id = :id "
            "AND (stranger_notified_at IS NULL OR stranger_notified_at < :not_since)",
            {"now": to_db_time(utcnow()), "id": user_id, "not_since": to_db_time(not_since)},
        )
        return changed == 1

    async def with_role(self) -> list[User]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM users WHERE role IS NOT NULL "
            "ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'dispatcher' THEN 1 ELSE 2 END, id"
        )
        return [_user(row) for row in rows]

    async def admins(self) -> list[User]:
        return [u for u in await self.with_role() if u.role is Role.ADMIN]
