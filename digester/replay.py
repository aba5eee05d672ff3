"""Replaying saved channel posts through the whole digester, as ``make demo`` does.

The posts of each source are stored and one demo reader per tone is subscribed to every
channel. The digester runs until the queue is empty. The demo readers' open digests are then
rendered as the Telegram HTML messages the bot would send. Replaying the same sources again
changes nothing and makes no model call.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digester.digests import render_open_digest
from digester.drafts import SourcePosts
from digester.ingest import store_drafts, upsert_channel
from digester.models import Channel, Post, PostState, Reader, Subscription, Tone
from digester.pool import AccountPool, ensure_env_account
from digester.queue import InProcessQueue
from digester.rewriter import Rewriter
from digester.settings import Settings
from digester.sources import load_source
from digester.worker import Digester, WorkerConfig

log = logging.getLogger(__name__)

# Demo readers get negative Telegram ids, which no real Telegram user has: -1 minus the
# tone's id, so each tone keeps its own demo reader across replays.
DEMO_READER_BASE_ID = -1


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    paths: tuple[Path, ...]
    channel_username: str | None = None
    tone_codes: tuple[str, ...] = ("brief",)
    latest: int | None = None


@dataclass(slots=True)
class ReplayResult:
    """The outcome of a replay: the demo digests and the fallback counts."""

    digests: dict[str, list[str]] = field(default_factory=dict)
    posts_read: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)

    @property
    def messages(self) -> list[str]:
        return [message for messages in self.digests.values() for message in messages]


class ReplayError(Exception):
    """A replay cannot start: an unknown tone or an unreadable source."""


class ReplayStopped(Exception):
    """A signal stopped the replay before every post was digested."""


async def replay(settings: Settings, options: ReplayOptions) -> ReplayResult:
    """Store the sources' posts, digest them and return the demo readers' digests."""
    tones = await _tones(options.tone_codes)
    channels = [
        await _store_source(source, options.latest) for source in _load(options) if source.drafts
    ]
    readers, subscribed = await _subscribe_demo_readers(channels, tones)
    if subscribed and await _done_posts([channel for channel, _ in channels]):
        # Binding old posts to a new subscriber would also bind them to every other reader's
        # new open digest, so a replay leaves them alone and logs a warning.
        log.warning(
            "a demo reader subscribed to channels whose posts were digested before; those "
            "posts are not in the new digest. Replay into a fresh --database to see them."
        )
    result = ReplayResult(posts_read=sum(count for _, count in channels))

    await ensure_env_account(settings)
    pool = await AccountPool.from_database(request_timeout_s=settings.llm_timeout_s)
    await pool.start()
    try:
        rewriter = _rewriter(pool, settings)
        await _digest_until_empty(rewriter, settings)
        result.fallbacks = rewriter.fallbacks
    finally:
        await pool.close()
    for tone, reader in zip(tones, readers, strict=True):
        result.digests[tone.code] = await render_open_digest(reader.id, reader.language)
    return result


def _load(options: ReplayOptions) -> list[SourcePosts]:
    sources = []
    for path in options.paths:
        source = load_source(path, options.channel_username)
        if not source.drafts:
            log.warning("no posts in source path=%s", path)
        sources.append(source)
    return sources


async def _tones(codes: tuple[str, ...]) -> list[Tone]:
    tones = {tone.code: tone for tone in await Tone.filter(code__in=codes)}
    unknown = [code for code in codes if code not in tones]
    if unknown:
        known = ", ".join(await Tone.all().order_by("id").values_list("code", flat=True))  # type: ignore[arg-type]
        raise ReplayError(f"unknown tone {', '.join(unknown)}; known tones: {known}")
    return [tones[code] for code in dict.fromkeys(codes)]


async def _store_source(source: SourcePosts, latest: int | None) -> tuple[Channel, int]:
    channel = await upsert_channel(
        source.channel_username, source.channel_title, telegram_id=source.channel_telegram_id
    )
    drafts = sorted(source.drafts, key=lambda draft: (draft.published_at, draft.message_id))
    if latest is not None:
        drafts = drafts[-latest:]
    await store_drafts(channel, drafts)
    return channel, len(drafts)


async def _subscribe_demo_readers(
    channels: list[tuple[Channel, int]], tones: list[Tone]
) -> tuple[list[Reader], bool]:
    """Subscribe one demo reader per tone to every channel; tell whether any is new."""
    readers = []
    created_any = False
    for tone in tones:
        telegram_id = DEMO_READER_BASE_ID - tone.id
        reader, _ = await Reader.get_or_create(
            telegram_user_id=telegram_id, defaults={"chat_id": telegram_id, "language": "ru"}
        )
        for channel, _ in channels:
            _, created = await Subscription.update_or_create(
                reader_id=reader.id, channel_id=channel.id, defaults={"tone_id": tone.id}
            )
            created_any = created_any or created
        readers.append(reader)
    return readers, created_any


async def _done_posts(channels: list[Channel]) -> int:
    ids = [channel.id for channel in channels]
    return await Post.filter(channel_id__in=ids, state=PostState.DONE).count()


def _rewriter(pool: AccountPool, settings: Settings) -> Rewriter:
    return Rewriter(
        pool,
        max_chars=settings.summary_max_chars,
        max_attempts=settings.llm_max_attempts,
        deadline_s=settings.llm_timeout_s * settings.llm_max_attempts,
    )


async def _digest_until_empty(rewriter: Rewriter, settings: Settings) -> None:
    """Run the worker until the queue is empty, or until SIGTERM arrives.

    On SIGTERM the consumers take no new posts and get ``shutdown_grace_s`` seconds to finish
    the ones they hold. A second SIGTERM or the end of that time cancels them. Every post not
    finished stays pending in the database and is queued again by the next run.
    """
    queue = InProcessQueue()
    config = WorkerConfig(
        consumers=settings.digester_workers, max_attempts=settings.post_max_attempts
    )
    digester = Digester(queue, rewriter, config)
    await digester.requeue_unfinished()
    runner = asyncio.create_task(digester.run(), name="digester")
    stop = asyncio.Event()
    grace_s = settings.shutdown_grace_s

    def on_sigterm() -> None:
        if not stop.is_set():
            stop.set()
            log.warning(
                "SIGTERM: finishing the posts in flight for up to %.0f s; "
                "a second SIGTERM stops at once",
                grace_s,
            )
        elif not runner.done():
            log.warning("second SIGTERM: handing the posts in flight back")
            runner.cancel()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        # A SIGTERM after every post is done stops nothing: the digests are printed.
        stopped = await _first_of(queue.join(), stop.wait()) == 1
        await queue.close()
        await asyncio.wait({runner}, timeout=grace_s if stopped else None)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await queue.close()
        if not runner.done():
            runner.cancel()
        await asyncio.wait({runner})
    if not runner.cancelled():
        runner.result()  # raises what failed the consumers
    if stopped:
        handed_back = " and handed back the posts in flight" if runner.cancelled() else ""
        raise ReplayStopped(
            f"stopped by SIGTERM{handed_back}; unfinished posts resume on the next run"
        )


async def _first_of(*waits: Coroutine[Any, Any, object]) -> int:
    """Return the position of the first coroutine to finish, once the others are cancelled."""
    tasks = [asyncio.create_task(wait) for wait in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return min(tasks.index(task) for task in done)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
