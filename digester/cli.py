"""The ``python -m digester`` command line: migrations, replay of saved posts, the account pool.

Logs go to standard error, so standard output carries only a command's result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tortoise.exceptions import BaseORMException

from digester import accounts_cli, db
from digester.replay import ReplayError, ReplayOptions, ReplayResult, ReplayStopped, replay
from digester.settings import Settings, SettingsError, load_settings
from digester.sources import UnknownSourceError
from digester.tones import seed_builtin_tones

log = logging.getLogger(__name__)
T = TypeVar("T")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every command."""
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS keeps a subcommand's missing --database from overwriting one given before it.
    common.add_argument(
        "--database",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (default: DATABASE_URL or SQLite file)",
    )
    parser = argparse.ArgumentParser(prog="python -m digester", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", parents=[common], help="apply pending migrations")
    make = commands.add_parser(
        "makemigrations", parents=[common], help="write a migration for model changes"
    )
    make.add_argument("name", help="short name of the migration, for example add_reader_theme")
    _add_replay(commands, common)
    accounts_cli.register(commands, common)
    return parser


def _add_replay(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    parser = commands.add_parser(
        "replay",
        parents=[common],
        help="digest saved channel posts and print the demo readers' digests",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="Telegram Desktop export (result.json) or saved t.me/s page",
    )
    parser.add_argument(
        "--channel", metavar="USERNAME", help="channel username for sources that do not name it"
    )
    parser.add_argument(
        "--tone",
        dest="tones",
        action="append",
        metavar="CODE",
        help="tone of a demo reader; repeat for several (default: brief)",
    )
    parser.add_argument(
        "--latest",
        type=_positive_int,
        metavar="N",
        help="only the N most recent posts of each source",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print only a JSON array of the messages on standard output",
    )


def _positive_int(text: str) -> int:
    # argparse prefixes the message with "argument --latest: ".
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number. Use 1 or more."
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is invalid. Use a whole number of 1 or more.")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    database_url = getattr(args, "database", None) or settings.database_url
    try:
        db.tortoise_config(database_url)
    except ValueError as exc:
        sys.stderr.write(f"invalid database URL {db.safe_url(database_url)!r}: {exc}\n")
        return 2
    try:
        return asyncio.run(_run(args, settings, database_url))
    except DatabaseOpenError as exc:
        sys.stderr.write(
            f"database {db.safe_url(database_url)} failed while opening or migrating: {exc}. "
            "Check that --database or DATABASE_URL names a reachable database of this program.\n"
        )
        return 1
    except DATABASE_ERRORS as exc:
        sys.stderr.write(f"database {db.safe_url(database_url)} failed: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{_interrupted_message(args.command)}\n")
        return 130


# Tortoise 1.1's SQLite client translates only sqlite3.OperationalError and IntegrityError to
# BaseORMException, so others such as sqlite3.DatabaseError ("file is not a database") arrive raw.
DATABASE_ERRORS = (BaseORMException, OSError, sqlite3.Error)


class DatabaseOpenError(Exception):
    """A failure to connect to the database or to migrate it, with the driver's message."""


def _interrupted_message(command: str) -> str:
    if command == "replay":
        return "interrupted; unfinished posts stay pending and resume on the next run"
    return "interrupted"


async def _run(args: argparse.Namespace, settings: Settings, database_url: str) -> int:
    if args.command == "migrate":
        applied = await _opening(db.migrate(database_url))
        sys.stdout.write(f"applied {len(applied)} migration(s)\n")
        return 0
    if args.command == "makemigrations":
        written = await _opening(db.make_migration(database_url, args.name))
        sys.stdout.write(f"{written or 'no changes'}\n")
        return 0
    await _opening(db.open_database(database_url))
    try:
        await seed_builtin_tones()
        if args.command == "replay":
            return await _replay(args, settings)
        return await accounts_cli.run(args, database_url, settings)
    finally:
        await db.close_database()


async def _opening(step: Coroutine[Any, Any, T]) -> T:
    """Await a step that connects to the database, raising DatabaseOpenError if it fails."""
    try:
        return await step
    except DATABASE_ERRORS as exc:
        raise DatabaseOpenError(str(exc)) from exc


async def _replay(args: argparse.Namespace, settings: Settings) -> int:
    options = ReplayOptions(
        paths=tuple(args.paths),
        channel_username=args.channel,
        tone_codes=tuple(args.tones or ["brief"]),
        latest=args.latest,
    )
    try:
        result = await replay(settings, options)
    except (ReplayError, UnknownSourceError, ValueError) as exc:
        sys.stderr.write(f"replay failed: {exc}\n")
        return 1
    except ReplayStopped as exc:
        sys.stderr.write(f"replay {exc}\n")
        return 143
    if args.json:
        sys.stdout.write(json.dumps(result.messages, ensure_ascii=False) + "\n")
    else:
        _print_digests(result)
    return 0


def _print_digests(result: ReplayResult) -> None:
    for tone_code, messages in result.digests.items():
        sys.stdout.write(
            f"\n===== demo reader, tone {tone_code}: {len(messages)} message(s) =====\n"
        )
        for number, message in enumerate(messages, start=1):
            sys.stdout.write(f"\n--- message {number} ---\n{message}\n")
    sys.stdout.write(f"\nposts read from the sources: {result.posts_read}\n")
