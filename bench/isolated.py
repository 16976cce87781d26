"""Each bench section in a Python of its own.

Sections used to share the runner's process, one event loop each. What a section leaves behind
still weighed on the next one's figures: the bot freezes its start-up heap (``gc.freeze()``,
bot/app.py) in whatever process runs it, caches and pools stay, the heap grows. Routing CPU per
alert measured 100 µs alone and 118–163 µs after the PostgreSQL /help section. A fresh
interpreter per section (``spawn``: no fork of the runner's state) measures each as the bot
would run it.

The PostgreSQL sections' databases are made and dropped here, in the runner, so that one
throwaway cluster serves them all (bench/databases.py).
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from types import ModuleType

from bench.databases import OnPostgres, new_database
from bench.report import Row


def run_module(module_name: str, database_url: str | None) -> list[Row]:
    """In the child: one section's ``run()`` (on ``database_url`` when given)."""
    module = importlib.import_module(module_name)
    if database_url is None:
        return list(asyncio.run(module.run()))
    return list(asyncio.run(module.run(database_url=database_url)))


def run_isolated(section: ModuleType | OnPostgres) -> list[Row]:
    """The section's rows, measured in a new Python process."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
        if not isinstance(section, OnPostgres):
            return child.submit(run_module, section.__name__, None).result()
        with new_database() as url:
            rows = child.submit(run_module, section.section.__name__, url).result()
    return section.named(rows)
