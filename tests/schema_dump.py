"""Print the schema of a database as JSON, after building it from migrations or models.

``python -m tests.schema_dump migrate URL`` applies the aerich migrations to an empty
database; ``python -m tests.schema_dump models URL`` creates the tables straight from the
Tortoise models. Comparing both outputs shows whether migrations and models agree. Each run
is its own process because Tortoise keeps one dialect per process.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from tortoise import Tortoise, connections

from digester import db

SKIPPED_TABLES = {"aerich"}


async def _sqlite_schema() -> dict[str, Any]:
    connection = connections.get("default")
    tables = await connection.execute_query_dict(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    schema: dict[str, Any] = {}
    for table in sorted(row["name"] for row in tables if row["name"] not in SKIPPED_TABLES):
        columns = await connection.execute_query_dict(f'PRAGMA table_info("{table}")')
        indexes = await connection.execute_query_dict(f'PRAGMA index_list("{table}")')
        keys = await connection.execute_query_dict(f'PRAGMA foreign_key_list("{table}")')
        index_columns = []
        for index in indexes:
            info = await connection.execute_query_dict(f'PRAGMA index_info("{index["name"]}")')
            index_columns.append([bool(index["unique"]), [row["name"] for row in info]])
        schema[table] = {
            "columns": sorted(
                [c["name"], c["type"], bool(c["notnull"]), c["pk"]] for c in columns
            ),
            "indexes": sorted(index_columns),
            "foreign_keys": sorted([k["from"], k["table"], k["to"], k["on_delete"]] for k in keys),
        }
    return schema


_PG_COLUMNS = """
SELECT table_name, column_name, data_type, is_nullable, character_maximum_length
FROM information_schema.columns WHERE table_schema = 'public'
"""
_PG_CONSTRAINTS = """
SELECT c.relname AS table_name, pg_get_constraintdef(k.oid) AS definition
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
"""
_PG_INDEXES = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"


async def _postgres_schema() -> dict[str, Any]:
    connection = connections.get("default")
    schema: dict[str, Any] = {}

    def table_entry(name: str) -> dict[str, list[Any]]:
        return schema.setdefault(name, {"columns": [], "constraints": [], "indexes": []})

    for row in await connection.execute_query_dict(_PG_COLUMNS):
        entry = table_entry(row["table_name"])
        entry["columns"].append(
            [
                row["column_name"],
                row["data_type"],
                row["is_nullable"],
                row["character_maximum_length"],
            ]
        )
    for row in await connection.execute_query_dict(_PG_CONSTRAINTS):
        table_entry(row["table_name"])["constraints"].append(row["definition"])
    for row in await connection.execute_query_dict(_PG_INDEXES):
        table_entry(row["tablename"])["indexes"].append([row["indexname"], row["indexdef"]])
    for entry in schema.values():
        for values in entry.values():
            values.sort(key=str)
    return {name: entry for name, entry in sorted(schema.items()) if name not in SKIPPED_TABLES}


async def dump(mode: str, database_url: str) -> dict[str, Any]:
    """Build the schema in the empty database at ``database_url`` and describe it."""
    if mode == "migrate":
        await db.migrate(database_url)
        await Tortoise.init(config=db.tortoise_config(database_url))
    else:
        await Tortoise.init(config=db.tortoise_config(database_url))
        await Tortoise.generate_schemas(safe=False)
    try:
        if db.dialect_of(database_url) == "sqlite":
            return await _sqlite_schema()
        return await _postgres_schema()
    finally:
        await connections.close_all()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(dump(sys.argv[1], sys.argv[2])), indent=1))  # noqa: T201
