"""The ``python -m digester`` command line: migrations, replay of exports, the account pool."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from digester import db
from digester.settings import SettingsError, load_settings

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m digester", description=__doc__)
    parser.add_argument("--database", help="database URL; default: DATABASE_URL or SQLite file")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply pending migrations to the database")
    make = commands.add_parser(
        "makemigrations", help="write a migration for model changes (one dialect per call)"
    )
    make.add_argument("name", help="short name of the migration, for example add_reader_theme")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        return 2
    database_url = args.database or settings.database_url
    if args.command == "migrate":
        applied = asyncio.run(db.migrate(database_url))
        print(f"applied {len(applied)} migration(s)")  # noqa: T201
        return 0
    if args.command == "makemigrations":
        written = asyncio.run(db.make_migration(database_url, args.name))
        print(written or "no changes")  # noqa: T201
        return 0
    return 2
