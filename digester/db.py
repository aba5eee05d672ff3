"""Database connection: the Tortoise configuration, start-up and shutdown, and migrations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections

log = logging.getLogger(__name__)

MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"
MODEL_MODULES = ["digester.models", "aerich.models"]


def dialect_of(database_url: str) -> str:
    """Return ``sqlite`` or ``postgres`` for a database URL."""
    scheme = database_url.split("://", 1)[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in {"postgres", "postgresql", "asyncpg"}:
        return "postgres"
    raise ValueError(f"unsupported database URL scheme {scheme!r}; use sqlite:// or postgres://")


def safe_url(database_url: str) -> str:
    """Return a database URL with its password replaced by ``***``, for messages and logs."""
    scheme, sep, rest = database_url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return database_url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """Return the Tortoise configuration for one database, with aware UTC datetimes."""
    if dialect_of(database_url) == "sqlite":
        _ensure_sqlite_folder(database_url)
    return {
        "connections": {"default": database_url},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _ensure_sqlite_folder(database_url: str) -> None:
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    if path and path != ":memory:":
        if Path(path).is_dir():
            raise ValueError(
                f"{path} is a folder; give a SQLite file path such as {path}/digest.sqlite3"
            )
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def migrations_location(database_url: str) -> Path:
    """Return the folder of the aerich migrations written for this database's dialect."""
    return MIGRATIONS_ROOT / dialect_of(database_url)


async def migrate(database_url: str) -> list[str]:
    """Apply the pending aerich migrations and return the names of those applied."""
    from aerich import Command

    command = Command(
        tortoise_config=tortoise_config(database_url),
        app="models",
        location=str(migrations_location(database_url)),
    )
    # init() connects and reads the applied versions, so it can fail with a connection open.
    # An open aiosqlite connection runs a non-daemon thread, which keeps the process alive.
    try:
        await command.init()
        applied: list[str] = await command.upgrade(run_in_transaction=True)
    finally:
        await connections.close_all()
    log.info("migrations applied count=%d dialect=%s", len(applied), dialect_of(database_url))
    return applied


async def open_database(database_url: str, *, apply_migrations: bool = True) -> None:
    """Migrate the schema if asked, then connect Tortoise for the rest of the process."""
    if apply_migrations:
        await migrate(database_url)
    try:
        await Tortoise.init(config=tortoise_config(database_url))
    except BaseException:
        await close_database()
        raise


async def close_database() -> None:
    """Close every database connection."""
    await connections.close_all()


async def make_migration(database_url: str, name: str) -> str:
    """Write a migration for the model changes since the last one of this dialect.

    The first call writes the initial migration without touching the database. Later calls
    compare the models with the state recorded by the last applied migration, so the
    database at ``database_url`` must be migrated to the newest version first.
    Returns the new file name, or an empty string when nothing changed.
    """
    from aerich import Command

    location = migrations_location(database_url)
    command = Command(
        tortoise_config=tortoise_config(database_url), app="models", location=str(location)
    )
    try:
        if not any((location / "models").glob("*.py")):
            await command.init_migrations(safe=True)
            return sorted(p.name for p in (location / "models").glob("*.py"))[0]
        await command.init()
        return str(await command.migrate(name) or "")
    finally:
        await connections.close_all()
