"""Section: what logibot's middleware stack costs on the simplest command, /help.

The full bot (outer update tracker with Prometheus metrics, locale middleware, access control
reading the user from SQLite, the whole router tree) is compared with a bare aiogram handler
answering the same text. The *ratio* is the figure, not the milliseconds: both sides share the
event loop, the emulator and the loopback HTTP, so the machine mostly cancels out.

Blocks alternate ABBA (bare, full, full, bare, ...) so that drift during the run (another
process waking up, the CPU clock changing) lands on both sides equally, and the samples of each
side are pooled before taking percentiles. The lowest and highest ratio over neighbouring block
pairs are printed too: on a shared 2-core machine they show how far one run's ratio can be
trusted.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.bare_bot import BareBot
from bench.report import Row, at_most, exactly
from bench.roundtrip import round_trip, round_trips
from bench.stats import p50_p95
from sandbox.harness import BotHarness
from sandbox.telegram_emulator import TelegramEmulator

TITLE = "/help latency: full logibot vs bare aiogram"

ADMIN = 1001
SAMPLES_PER_SIDE = 300
BLOCK = 50
WARM_UP = 20
# Issue 17: "unchanged (≤ 1.15x)", on PostgreSQL as on SQLite (the first bench allowed 1.5).
P50_RATIO_TARGET = 1.15


async def warm_up(emu: TelegramEmulator, count: int = WARM_UP) -> str:
    """Prime caches, connections and the database page cache; return the last reply's HTML."""
    reply = ""
    for _ in range(count):
        _elapsed, reply = await round_trip(emu, ADMIN, "/help")
    return reply


@dataclass
class Blocks:
    """Round-trip seconds per side, one list per block, in the order they ran."""

    full: list[list[float]] = field(default_factory=list)
    bare: list[list[float]] = field(default_factory=list)

    @staticmethod
    def pooled(blocks: list[list[float]]) -> list[float]:
        return [sample for block in blocks for sample in block]

    def pair_ratios(self) -> list[float]:
        """p50 full/bare of each pair of neighbouring blocks: how much the ratio moves in-run."""
        return [
            statistics.median(full) / statistics.median(bare)
            for full, bare in zip(self.full, self.bare, strict=True)
        ]


async def alternate_blocks(full: TelegramEmulator, bare: TelegramEmulator) -> Blocks:
    """SAMPLES_PER_SIDE round trips per side, in ABBA-ordered blocks of BLOCK."""
    blocks = Blocks()
    for block in range(SAMPLES_PER_SIDE // BLOCK):
        for side in ("bare", "full") if block % 2 == 0 else ("full", "bare"):
            emu, into = (full, blocks.full) if side == "full" else (bare, blocks.bare)
            into.append(await round_trips(emu, ADMIN, "/help", BLOCK))
    return blocks


async def run(database_url: str | None = None) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="logibot-bench-") as tmp:
        harness = BotHarness(Path(tmp), admin_ids=[ADMIN], limits=None, database_url=database_url)
        async with harness:
            help_text = await warm_up(harness.emu)
            if "<b>" not in help_text:
                raise RuntimeError(f"the full bot did not answer /help as expected: {help_text!r}")
            async with BareBot(help_text, ADMIN) as bare:
                if await warm_up(bare.emu) != help_text:
                    raise RuntimeError("the bare bot's reply differs from the full bot's")
                blocks = await alternate_blocks(harness.emu, bare.emu)
                rejected_bare = len(bare.emu.rejected_calls())
            rejected_full = len(harness.emu.rejected_calls())
    return rows(blocks, rejected_full, rejected_bare)


def rows(blocks: Blocks, rejected_full: int, rejected_bare: int) -> list[Row]:
    full, bare = Blocks.pooled(blocks.full), Blocks.pooled(blocks.bare)
    full_p50, full_p95 = p50_p95(full)
    bare_p50, bare_p95 = p50_p95(bare)
    pairs = blocks.pair_ratios()
    return [
        Row(f"/help full p50 (n={len(full)})", full_p50 * 1000, "ms"),
        Row(f"/help full p95 (n={len(full)})", full_p95 * 1000, "ms"),
        Row(f"/help bare p50 (n={len(bare)})", bare_p50 * 1000, "ms"),
        Row(f"/help bare p95 (n={len(bare)})", bare_p95 * 1000, "ms"),
        Row("/help p50 ratio full/bare", full_p50 / bare_p50, "x", at_most(P50_RATIO_TARGET)),
        Row("/help p95 ratio full/bare", full_p95 / bare_p95, "x"),
        Row(f"/help p50 ratio, lowest of {len(pairs)} block pairs", min(pairs), "x"),
        Row(f"/help p50 ratio, highest of {len(pairs)} block pairs", max(pairs), "x"),
        Row("emulator rejected calls (full bot)", rejected_full, "calls", exactly(0), 0),
        Row("emulator rejected calls (bare bot)", rejected_bare, "calls", exactly(0), 0),
    ]
