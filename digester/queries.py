"""Set-based queries of the digester, with a fixed number of statements per post.

The number of statements does not depend on how many readers subscribe to a channel. Open
digests are created and summaries are bound with ``INSERT … SELECT`` statements that the
database runs over all subscriptions at once, so no subscriber row is loaded into Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from digester.models import DigestState


@dataclass(frozen=True, slots=True)
class ToneTarget:
    """A distinct tone among a channel's active subscriptions."""

    tone_id: int
    code: str
    instruction: str
    subscribers: int


def _connection() -> BaseDBAsyncClient:
    connection: BaseDBAsyncClient = connections.get("default")
    return connection


def _placeholders(connection: BaseDBAsyncClient, sql: str) -> str:
    """Adapt ``$1``-style parameters to the connection's dialect (SQLite takes ``?1``)."""
    if connection.capabilities.dialect == "sqlite":
        return sql.replace("$", "?")
    return sql


async def _execute(sql: str, values: list[Any]) -> int:
    """Run one INSERT, UPDATE or DELETE and return the number of rows it changed."""
    connection = _connection()
    if connection.capabilities.dialect == "sqlite":
        rowcount, _ = await connection.execute_query(_placeholders(connection, sql), values)
        return int(rowcount)
    # Tortoise reads the row count of a PostgreSQL INSERT from the wrong field of the
    # command tag ("INSERT 0 3"), so the statement counts its own rows instead.
    counted = f"WITH changed AS ({sql} RETURNING 1) SELECT COUNT(*) AS n FROM changed"
    rows = await connection.execute_query_dict(counted, values)
    return int(rows[0]["n"])


async def fetch_rows(sql: str, values: list[Any]) -> list[dict[str, Any]]:
    """Run one statement with ``$1``-style parameters and return its rows as dicts."""
    connection = _connection()
    return await connection.execute_query_dict(_placeholders(connection, sql), values)


_TONES_SQL = """
SELECT t.id AS tone_id, t.code AS code, t.instruction AS instruction,
       COUNT(*) AS subscribers
FROM subscription s
JOIN reader r ON r.id = s.reader_id AND r.is_active = $2
JOIN tone t ON t.id = s.tone_id
WHERE s.channel_id = $1 AND s.is_active = $2
GROUP BY t.id, t.code, t.instruction
ORDER BY t.id
"""


async def tones_for_channel(channel_id: int) -> list[ToneTarget]:
    """Return the distinct tones of a channel's active subscriptions by active readers."""
    rows = await fetch_rows(_TONES_SQL, [channel_id, True])
    return [
        ToneTarget(
            tone_id=int(row["tone_id"]),
            code=str(row["code"]),
            instruction=str(row["instruction"]),
            subscribers=int(row["subscribers"]),
        )
        for row in rows
    ]


_OPEN_DIGESTS_SQL = """
INSERT INTO digest (reader_id, state, open_for_reader, created_at, updated_at)
SELECT s.reader_id, $2, s.reader_id, $3, $3
FROM subscription s
JOIN reader r ON r.id = s.reader_id AND r.is_active = $4
WHERE s.channel_id = $1 AND s.is_active = $4
  AND NOT EXISTS (SELECT 1 FROM digest d WHERE d.open_for_reader = s.reader_id)
ON CONFLICT (open_for_reader) DO NOTHING
"""


async def open_digests_for_channel(channel_id: int, now: datetime) -> int:
    """Create the missing open digests of a channel's active subscribers in one statement.

    Returns the number of digests created. Concurrent calls are safe: the unique
    ``open_for_reader`` column turns a second insert for the same reader into a no-op.
    """
    return await _execute(_OPEN_DIGESTS_SQL, [channel_id, DigestState.OPEN.value, now, True])


_BIND_SQL = """
INSERT INTO digest_item (digest_id, summary_id, created_at)
SELECT d.id, su.id, $3
FROM subscription s
JOIN reader r ON r.id = s.reader_id AND r.is_active = $4
JOIN digest d ON d.open_for_reader = s.reader_id
JOIN summary su ON su.post_id = $2 AND su.tone_id = s.tone_id
WHERE s.channel_id = $1 AND s.is_active = $4
ON CONFLICT (digest_id, summary_id) DO NOTHING
"""


async def bind_post_summaries(channel_id: int, post_id: int, now: datetime) -> int:
    """Bind every summary of a post to the open digest of each subscriber of its tone.

    One statement whatever the number of subscribers; a replay inserts nothing because each
    (digest, summary) pair is unique. Returns the number of digest items inserted.
    """
    return await _execute(_BIND_SQL, [channel_id, post_id, now, True])


async def prepare_channel_targets(channel_id: int, now: datetime) -> list[ToneTarget]:
    """Create missing open digests, then return the channel's distinct tones: two statements."""
    await open_digests_for_channel(channel_id, now)
    return await tones_for_channel(channel_id)
