"""The bot's own Mobiforce directories: templates, employees, clients and task numbers -> ids.

Mobiforce lists have no search and page by ten, so the bot keeps these rows itself (filled by a
background sync and the change feed) and searches them here: no keystroke pages through the
account. ``search`` holds the casefolded words (Python's casefold: SQLite's lower() leaves
Cyrillic alone), so a LIKE over it finds «ромашка» in «ООО «Ромашка»» on either database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from storage.db import Database, in_lists, to_db_time, utcnow

Kind = Literal["template", "employee", "contractor", "task"]
SEARCH_KEY_LENGTH = 12


@dataclass(frozen=True)
class Entry:
    kind: str
    id: int
    name: str
    data: dict[str, Any] = field(default_factory=dict)


def _search_text(name: str, data: Mapping[str, Any]) -> str:
    words = [name, *(str(v) for v in data.values() if isinstance(v, str | int) and v)]
    return " ".join(words).casefold()


def _like(text: str) -> str:
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(kind: Kind, text: str, excluded: Collection[str]) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of :meth:`MobiforceRepo.find` and :meth:`MobiforceRepo.count`."""
    where = "kind = :kind AND search LIKE :like ESCAPE '\\'"
    params: dict[str, Any] = {"kind": kind, "like": _like(text.strip())}
    for marks, names in in_lists("x", (name.lower() for name in excluded)):
        where += f" AND LOWER(name) NOT IN ({marks})"
        params.update(names)
    return where, params


def _entry(row: Any) -> Entry:
    return Entry(row.kind, int(row.id), row.name, json.loads(row.data))


_UPSERT = (
    "INSERT INTO mobiforce_directory (kind, id, name, search, data, updated_at) "
    "VALUES (:kind, :id, :name, :search, :data, :now) ON CONFLICT (kind, id) "
)
# lower(): SQLite's NOCASE order where both agree (ASCII), the server's own for the rest.
_BY_NAME = "lower(name), id"


class MobiforceRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, kind: Kind, entries: Iterable[Entry]) -> int:
        now = to_db_time(utcnow())
        rows = [
            {
                "kind": kind,
                "id": e.id,
                "name": e.name,
                "search": _search_text(e.name, e.data),
                "data": json.dumps(e.data, ensure_ascii=False),
                "now": now,
            }
            for e in entries
        ]
        async with self.db.transaction() as tx:
            await tx.executemany(
                _UPSERT + "DO UPDATE SET name = excluded.name, search = excluded.search, "
                "data = excluded.data, updated_at = excluded.updated_at",
                rows,
            )
        return len(rows)

    async def add_names(self, kind: Kind, names: Iterable[tuple[int, str]]) -> int:
        """Rows known by id and name only (a list page): new ones are added, known ones keep
        what the bot learnt of them."""
        now = to_db_time(utcnow())
        rows = [
            {"kind": kind, "id": i, "name": n, "search": n.casefold(), "data": "{}", "now": now}
            for i, n in names
        ]
        async with self.db.transaction() as tx:
            await tx.executemany(_UPSERT + "DO NOTHING", rows)
        return len(rows)

    async def replace(self, kind: Kind, entries: Iterable[Entry]) -> int:
        """The whole directory of ``kind`` (a complete sync): rows not in ``entries`` go."""
        listed = list(entries)
        count = await self.upsert(kind, listed)
        keep = {e.id for e in listed}
        present = await self.db.fetchall(
            "SELECT id FROM mobiforce_directory WHERE kind = :kind", {"kind": kind}
        )
        gone = [{"kind": kind, "id": row.id} for row in present if row.id not in keep]
        if gone:
            async with self.db.transaction() as tx:
                await tx.executemany(
                    "DELETE FROM mobiforce_directory WHERE kind = :kind AND id = :id", gone
                )
        return count

    async def get(self, kind: Kind, entry_id: int) -> Entry | None:
        row = await self.db.fetchone(
            "SELECT kind, id, name, data FROM mobiforce_directory WHERE kind = :kind AND id = :id",
            {"kind": kind, "id": entry_id},
        )
        return _entry(row) if row else None

    async def by_name(self, kind: Kind, name: str) -> list[Entry]:
        rows = await self.db.fetchall(
            "SELECT kind, id, name, data FROM mobiforce_directory "
            "WHERE kind = :kind AND name = :name ORDER BY id DESC",
            {"kind": kind, "name": name},
        )
        return [_entry(row) for row in rows]

    async def by_number(self, kind: Kind, number: str) -> list[Entry]:
        """Entries named ``number`` as people type it: exactly, in other letter case, or (a
        number of digits) with or without leading zeros — «23» finds «000023»."""
        number = number.strip()
        found = await self.by_name(kind, number)
        if found or not number:
            return found
        alike = "upper(name) = upper(:number)"
        if number.isdigit():  # the same digits after the zeros, and nothing but digits
            alike += (
                " OR (ltrim(name, '0') = :digits AND name <> '' AND ltrim(name, '0123456789') = '')"
            )
        rows = await self.db.fetchall(
            "SELECT kind, id, name, data FROM mobiforce_directory "
            f"WHERE kind = :kind AND ({alike}) ORDER BY id DESC",
            {"kind": kind, "number": number, "digits": number.lstrip("0")},
        )
        return [_entry(row) for row in rows]

    async def names(self, kind: Kind, ids: Iterable[int]) -> dict[int, str]:
        """Names of these ids (those the directory knows)."""
        wanted = {f"i{n}": entry_id for n, entry_id in enumerate(dict.fromkeys(ids))}
        if not wanted:
            return {}
        rows = await self.db.fetchall(
            "SELECT id, name FROM mobiforce_directory WHERE kind = :kind AND id IN "
            f"({', '.join(':' + key for key in wanted)})",
            {"kind": kind, **wanted},
        )
        return {int(row.id): row.name for row in rows}

    async def save_search(self, query: str) -> str:
        """A short key for ``query`` (a page button carries the key, not the text)."""
        key = hashlib.sha1(query.encode()).hexdigest()[:SEARCH_KEY_LENGTH]
        await self.db.execute(
            "INSERT INTO mobiforce_searches (key, query, created_at) VALUES (:key, :query, :now) "
            "ON CONFLICT (key) DO NOTHING",
            {"key": key, "query": query, "now": to_db_time(utcnow())},
        )
        return key

    async def search_of(self, key: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT query FROM mobiforce_searches WHERE key = :key", {"key": key}
        )
        return str(row.query) if row else None

    async def find(
        self,
        kind: Kind,
        text: str = "",
        *,
        limit: int = 10,
        offset: int = 0,
        newest: bool = False,
        excluded: Collection[str] = (),
    ) -> list[Entry]:
        """Entries whose name or data contain ``text`` (all when empty), by name or newest;
        none named one of ``excluded`` (compared in lower case)."""
        order = "id DESC" if newest else _BY_NAME
        where, params = _matching(kind, text, excluded)
        rows = await self.db.fetchall(
            f"SELECT kind, id, name, data FROM mobiforce_directory WHERE {where} "
            f"ORDER BY {order} LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
        return [_entry(row) for row in rows]

    async def count(self, kind: Kind, text: str = "", *, excluded: Collection[str] = ()) -> int:
        where, params = _matching(kind, text, excluded)
        row = await self.db.fetchone(
            f"SELECT count(*) AS n FROM mobiforce_directory WHERE {where}", params
        )
        return int(row.n) if row else 0

    async def all(self, kind: Kind) -> list[Entry]:
        rows = await self.db.fetchall(
            f"SELECT kind, id, name, data FROM mobiforce_directory WHERE kind = :kind "
            f"ORDER BY {_BY_NAME}",
            {"kind": kind},
        )
        return [_entry(row) for row in rows]
