"""The queue of post ids between the parsers and the digester.

The Post row is the durable record of work and the queue only carries ids, so losing the
queue loses nothing. At start-up every post that is not done is queued again. A broker-backed
queue fits behind the same ``PostQueue`` protocol.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class QueueClosed(Exception):
    """The queue was closed while a consumer waited for a post id."""


class PostQueue(Protocol):
    """Interface of a queue of post ids, as the digester uses it."""

    async def put(self, post_id: int) -> None:
        """Queue a post id; an id already queued or in progress is not queued twice."""

    async def get(self) -> int:
        """Wait for the next post id; raise ``QueueClosed`` once the queue is closed."""

    async def task_done(self, post_id: int, *, retry_in_s: float | None = None) -> None:
        """Mark a post id taken with ``get`` as handled, or queue it again after a delay."""

    async def join(self) -> None:
        """Wait until every queued and delayed id has been handled."""

    async def close(self) -> None:
        """Stop handing out ids and drop delayed ones; their posts stay pending in the database."""


class InProcessQueue:
    """An asyncio queue of post ids for the single-process deployment."""

    def __init__(self) -> None:
        self._ready: asyncio.Queue[int] = asyncio.Queue()
        # Ids queued, delayed or taken by a consumer and not yet done.
        self._pending: set[int] = set()
        self._delayed: dict[int, asyncio.TimerHandle] = {}
        self._unfinished = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = asyncio.Event()

    def qsize(self) -> int:
        """Return the number of ids ready to be taken, delayed ones not counted."""
        return self._ready.qsize()

    async def put(self, post_id: int) -> None:
        if self._closed.is_set() or post_id in self._pending:
            return
        self._pending.add(post_id)
        self._unfinished += 1
        self._idle.clear()
        self._ready.put_nowait(post_id)

    def _release(self, post_id: int) -> None:
        self._delayed.pop(post_id, None)
        self._ready.put_nowait(post_id)

    async def get(self) -> int:
        if self._closed.is_set():
            raise QueueClosed
        getter = asyncio.ensure_future(self._ready.get())
        closer = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({getter, closer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closer.cancel()
            if not getter.done():
                getter.cancel()
        if getter.cancelled() or not getter.done():
            raise QueueClosed
        return getter.result()

    async def task_done(self, post_id: int, *, retry_in_s: float | None = None) -> None:
        if retry_in_s is not None and not self._closed.is_set():
            loop = asyncio.get_running_loop()
            self._delayed[post_id] = loop.call_later(retry_in_s, self._release, post_id)
            return
        self._pending.discard(post_id)
        self._unfinished -= 1
        if self._unfinished <= 0:
            self._unfinished = 0
            self._idle.set()

    async def join(self) -> None:
        await self._idle.wait()

    async def close(self) -> None:
        self._closed.set()
        for handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        self._pending.clear()
        self._unfinished = 0
        self._idle.set()
