"""`logibot copy-db <from-url> <to-url>`: the move to another database, told as it goes."""

from __future__ import annotations

import logging
import sys

from storage.copy import TargetNotEmpty, copy_database
from storage.db import Database, DatabaseLocked

EXIT_COPY_FAILED = 1
EXIT_CANNOT_START = 2


async def copy_db(source_url: str, target_url: str) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        # exclusive: no bot may write to a SQLite source (or target) while it is copied.
        source = Database(source_url, exclusive=True)
        target = Database(target_url, exclusive=True)
    except ValueError as exc:
        print(f"logibot copy-db: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    print(f"from {source.shown_url}\n  to {target.shown_url}")
    try:
        await source.open()  # an old SQLite file is brought to the current schema first
        await target.open()
        copied = await copy_database(source, target)
    except (DatabaseLocked, TargetNotEmpty) as exc:
        print(f"logibot copy-db: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except Exception as exc:
        print(f"logibot copy-db: nothing copied: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_COPY_FAILED
    finally:
        await source.close()
        await target.close()
    width = max(len(c.table) for c in copied)
    for c in copied:
        mark = "ok" if c.ok else "MISMATCH"
        print(f"  {c.table:<{width}}  {c.source_rows:>9} -> {c.target_rows:<9} {mark}")
    if all(c.ok for c in copied):
        print(f"copied and verified: {sum(c.target_rows for c in copied)} rows")
        return 0
    print("the row counts differ: do not switch to the target", file=sys.stderr)
    return EXIT_COPY_FAILED
