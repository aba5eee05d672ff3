"""Exit 0 when a PostgreSQL server accepts a connection at the URL given as the only argument."""

import asyncio
import sys

import asyncpg


async def _probe(url: str) -> None:
    connection = await asyncpg.connect(url, timeout=3)
    await connection.close()


if __name__ == "__main__":
    try:
        asyncio.run(_probe(sys.argv[1]))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        print(f"PostgreSQL probe failed: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(1) from None
