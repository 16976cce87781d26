"""`logibot run | demo | check | healthcheck | copy-db`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import LogiBot
    from bot.config import Settings

# Everything heavy (pydantic, aiogram) is imported inside the functions: until then a SIGTERM
# would kill the process with -15 instead of the clean exit 0 `main` arranges first thing.

EXIT_CONFIG = 2
EXIT_LOST_LEADERSHIP = 3  # a supervisor starts it again: it comes back as a standby


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, exit_quietly)
    from bot.config import ConfigError, load_settings
    from bot.logging_setup import setup_logging

    parser = argparse.ArgumentParser(
        prog="logibot", description="Telegram bot for logistics managers"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling against TELEGRAM_API_URL)")
    demo = sub.add_parser("demo", help="run the bot against the embedded sandbox, in a console")
    demo.add_argument("--speed", type=float, default=20.0, help="simulated time per real second")
    sub.add_parser("check", help="print the configuration and check every integration")
    sub.add_parser(
        "healthcheck",
        help="exit 0 when /healthz on HTTP_PORT says ok, else 1 (the container's HEALTHCHECK)",
    )
    copy = sub.add_parser(
        "copy-db", help="copy every table into another, empty database and verify the row counts"
    )
    copy.add_argument("source", help="sqlite:///path/file.sqlite3 or postgresql://…")
    copy.add_argument("target", help="sqlite:///path/file.sqlite3 or postgresql://…")
    args = parser.parse_args(argv)
    if args.command == "healthcheck":
        from bot.healthcheck import healthcheck

        return healthcheck()

    try:
        if args.command == "run":
            settings = load_settings(require_token=True)
            setup_logging(settings.log_level, settings.log_format, settings.secrets())
            # Seconds of import (aiogram builds ~600 pydantic models), done before the event
            # loop: a SIGTERM meanwhile ends the process at once (exit_quietly). Inside the
            # loop it would only set the stop event, acted on once the import is over.
            importlib.import_module("bot.app")
            return asyncio.run(_run(settings))
        if args.command == "check":
            settings = load_settings()
            setup_logging(settings.log_level, settings.log_format, settings.secrets())
            return asyncio.run(_check(settings))
        if args.command == "copy-db":
            from bot.copy_db import copy_db

            return asyncio.run(copy_db(args.source, args.target))
        from sandbox.demo import run_demo

        # The demo has no loop-level handlers: a SIGTERM unwinds it like Ctrl+C, so the
        # sandbox it started is closed on the way out.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        return asyncio.run(run_demo(speed=args.speed))
    except ConfigError as exc:
        print("logibot: the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Set them in the environment or in .env (see README).", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0


_exiting = False  # exit_quietly has begun


def exit_quietly(signum: int, frame: object) -> None:
    """SIGTERM before the event loop's own handler is in place (while importing): nothing is
    open yet, so the process ends here with 0.

    Not by raising SystemExit: an exception raised by a signal handler that happens to run
    inside a finalizer (a ``__del__``, a weakref callback — common while importing) is printed
    and swallowed, the SIGTERM is lost and the process goes on to run the bot. A supervisor that
    repeats its SIGTERM meanwhile reaches this handler again, which leaves the exit to the first
    call. (Not by switching to SIG_IGN here: ``signal.signal`` looks for pending signals first,
    and a repeat arriving during that look was reported as "Signal 15 ignored due to race
    condition", a traceback in the log of a clean stop.)"""
    global _exiting
    if _exiting:
        return
    _exiting = True
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed stream has nothing to lose
            stream.flush()
    os._exit(0)


async def _run(settings: Settings) -> int:
    def build() -> LogiBot:
        from bot.app import LogiBot  # imported already, by main

        return LogiBot(settings)

    return await serve(build)


async def serve(
    build: Callable[[], LogiBot],
    *,
    after_start: Callable[[LogiBot], Awaitable[None]] | None = None,
) -> int:
    """Build, start and run until SIGTERM/SIGINT, which may come at any moment, start-up
    included: the loop's handlers are in place before anything slow happens. Exit code
    EXIT_LOST_LEADERSHIP when the leader lost its lock (README, "Running more than one")."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = build()

    async def start() -> None:
        await app.start()
        if after_start is not None:
            await after_start(app)

    starting = asyncio.create_task(start())
    await asyncio.wait([starting, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED")
    if stop.is_set():
        # Start-up may be waiting for Telegram, which can take as long as an outage lasts.
        app.cancel_start()
        await asyncio.gather(starting, return_exceptions=True)
        await app.close()
        return 0
    if starting.exception() is not None:
        await app.close()  # the database's thread would otherwise keep the process alive
        starting.result()  # start-up errors surface here
    from bot.app import LeadershipLost

    running = asyncio.create_task(app.run())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([running, stopping], return_when="FIRST_COMPLETED")
    if stop.is_set() and not running.done():
        await app.request_stop()
    stopping.cancel()
    try:
        await running
    except LeadershipLost as exc:
        print(f"logibot: {exc}; exiting so that a standby leads", file=sys.stderr)
        return EXIT_LOST_LEADERSHIP
    return 0


async def _check(settings: Settings) -> int:
    from bot.checks import run_checks
    from bot.config import masked

    print("Effective configuration (secrets masked):")
    for name, value in masked(settings).items():
        print(f"  {name}={value}")
    print()
    from bot.settings.report import settings_report

    print("Settings (effective value and where it comes from; change them with /settings):")
    report = await settings_report(settings)
    for line in report:
        print(f"  {line}")
    print()
    results = await run_checks(settings)
    failed = any(line.startswith("PROBLEM ") for line in report)
    for result in results:
        mark = "ok  " if result.ok else ("off " if result.skipped else "FAIL")
        failed |= not result.ok and not result.skipped
        print(f"[{mark}] {result.name}: {result.detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
