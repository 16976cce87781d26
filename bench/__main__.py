"""``python -m bench`` (``make bench``): run every section, print one table of figures.

Adding a section: write a module in ``bench/`` with ``TITLE: str`` and
``async def run() -> list[Row]`` (see :mod:`bench.report`), and append it to ``SECTIONS``.
Each section runs in a Python process of its own (bench/isolated.py), so nothing one section
leaves behind weighs on the next one's figures, and a section that crashes is reported while
the others still run.

Figures are compared with their targets and printed; nothing is asserted. The exit status is 1
only when a section could not run at all.
"""

from __future__ import annotations

import sys
import time
import traceback
from types import ModuleType
from typing import TypeAlias

from bench import (
    alerts_storm,
    alerts_stream,
    alerts_throughput,
    alta_cycle,
    commit_cost,
    digest_job,
    failover,
    help_latency,
    idle_memory,
    mobiforce_cycle,
    movizor_cycle,
    outbox_backlog,
    report_build,
    startup,
    taximaster_cycle,
)
from bench.databases import OnPostgres
from bench.databases import stop as stop_postgres
from bench.isolated import run_isolated
from bench.report import Row, format_table, header

# A module with ``TITLE`` and ``async def run() -> list[Row]``, or one on PostgreSQL.
Section: TypeAlias = ModuleType | OnPostgres

# In order of running: the latency section first, while the machine is quietest. The sections
# the database changes run again on PostgreSQL (bench/databases.py).
SECTIONS: tuple[Section, ...] = (
    help_latency,
    OnPostgres(help_latency),
    startup,
    idle_memory,
    alerts_throughput,
    OnPostgres(alerts_throughput),
    movizor_cycle,
    mobiforce_cycle,
    taximaster_cycle,
    alta_cycle,
    outbox_backlog,
    OnPostgres(outbox_backlog),
    commit_cost,
    alerts_stream,
    failover,
    alerts_storm,
    report_build,
    digest_job,
)


def run_section(section: Section) -> tuple[list[Row], float, str | None]:
    """(rows, seconds taken, traceback text if it crashed)."""
    started = time.perf_counter()
    try:
        rows = run_isolated(section)
    except Exception:
        return [], time.perf_counter() - started, traceback.format_exc()
    return rows, time.perf_counter() - started, None


def main() -> int:
    print(header(), flush=True)
    all_rows: list[Row] = []
    failures: list[str] = []
    try:
        for section in SECTIONS:
            print(f"- {section.TITLE} ...", end=" ", flush=True)
            rows, seconds, error = run_section(section)
            print(f"{'FAILED' if error else 'done'} in {seconds:.1f} s", flush=True)
            if error:
                failures.append(f"{section.TITLE}:\n{error}")
            all_rows += rows
    finally:
        stop_postgres()
    print()
    print(format_table(all_rows))
    print()
    targeted = [row for row in all_rows if row.met is not None]
    missed = [row.name for row in targeted if not row.met]
    print(f"targets met: {len(targeted) - len(missed)}/{len(targeted)}", end="")
    print(f"; missed: {', '.join(missed)}" if missed else "")
    for failure in failures:
        print(f"\nsection failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
