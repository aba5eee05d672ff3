"""Database fixtures: every test runs on SQLite or on PostgreSQL, chosen by TEST_DATABASE.

A test session migrates one fresh database with the real aerich migrations; each test then
starts from empty tables with the built-in tones seeded.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from tortoise import Tortoise, connections

from digester import db
from digester.tones import seed_builtin_tones

TEST_DATABASE = os.environ.get("TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _postgres_server_url(database: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


async def _run_admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Create and migrate one empty database for the whole test session."""
    if TEST_DATABASE == "postgres":
        name = f"digest_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_run_admin_sql(f'CREATE DATABASE "{name}"'))
        url = _postgres_server_url(name)
    else:
        name = ""
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'digest.sqlite3'}"
    asyncio.run(db.migrate(url))
    yield url
    if name:
        asyncio.run(_run_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


DATA_TABLES = (
    "digest_item",
    "digest",
    "summary",
    "post",
    "subscription",
    "tone",
    "chatgpt_account",
    "channel",
    "reader",
)


async def _empty_tables() -> None:
    connection = connections.get("default")
    if TEST_DATABASE == "postgres":
        tables = ", ".join(f'"{table}"' for table in DATA_TABLES)
        await connection.execute_script(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        return
    for table in DATA_TABLES:
        await connection.execute_script(f'DELETE FROM "{table}"')


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    """Connect Tortoise to the session database with empty tables and the built-in tones."""
    await Tortoise.init(config=db.tortoise_config(database_url))
    await _empty_tables()
    await seed_builtin_tones()
    yield database_url
    await connections.close_all()
