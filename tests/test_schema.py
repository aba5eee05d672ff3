"""Migrations: they apply to empty databases and leave no difference between models and schema."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE, _postgres_server_url, _run_admin_sql
from tests.digest_helpers import REPOSITORY


def _run_python(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=REPOSITORY, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def empty_database_urls(tmp_path: Path) -> Iterator[list[str]]:
    """Two empty databases of the dialect under test, dropped afterwards."""
    if TEST_DATABASE != "postgres":
        yield [f"sqlite://{tmp_path / 'a.sqlite3'}", f"sqlite://{tmp_path / 'b.sqlite3'}"]
        return
    names = [f"digest_schema_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    for name in names:
        asyncio.run(_run_admin_sql(f'CREATE DATABASE "{name}"'))
    yield [_postgres_server_url(name) for name in names]
    for name in names:
        asyncio.run(_run_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_migrations_match_models(empty_database_urls: list[str]) -> None:
    migrated_url, generated_url = empty_database_urls

    migrated = json.loads(_run_python("-m", "tests.schema_dump", "migrate", migrated_url))
    generated = json.loads(_run_python("-m", "tests.schema_dump", "models", generated_url))

    assert sorted(migrated) == sorted(generated)
    for table in generated:
        assert migrated[table] == generated[table], table
