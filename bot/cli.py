"""`logibot run | demo | check`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import ConfigError, Settings, load_settings, masked
from bot.logging_setup import setup_logging

EXIT_CONFIG = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="logibot", description="Telegram bot for logistics managers"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling against TELEGRAM_API_URL)")
    demo = sub.add_parser("demo", help="run the bot against the embedded sandbox, in a console")
    demo.add_argument("--speed", type=float, default=20.0, help="simulated time per real second")
    sub.add_parser("check", help="print the configuration and check every integration")
    args = parser.parse_args(argv)

    try:
        if args.command == "run":
            settings = load_settings(require_token=True)
            setup_logging(settings.log_level, settings.log_format, settings.secrets())
            return asyncio.run(_run(settings))
        if args.command == "check":
            settings = load_settings()
            setup_logging(settings.log_level, settings.log_format, settings.secrets())
            return asyncio.run(_check(settings))
        from sandbox.demo import run_demo

        return asyncio.run(run_demo(speed=args.speed))
    except ConfigError as exc:
        print("logibot: the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Set them in the environment or in .env (see README).", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0


async def _run(settings: Settings) -> int:
    from bot.app import LogiBot

    app = LogiBot(settings)
    await app.start()
    await app.run_polling(handle_signals=True)
    return 0


async def _check(settings: Settings) -> int:
    from bot.checks import run_checks

    print("Effective configuration (secrets masked):")
    for name, value in masked(settings).items():
        print(f"  {name}={value}")
    print()
    results = await run_checks(settings)
    failed = False
    for result in results:
        mark = "ok  " if result.ok else ("off " if result.skipped else "FAIL")
        failed |= not result.ok and not result.skipped
        print(f"[{mark}] {result.name}: {result.detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
