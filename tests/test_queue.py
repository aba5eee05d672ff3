"""The in-process queue of post ids and the worker's handling of failing posts."""

from __future__ import annotations

import asyncio

import pytest

from digester.drafts import PostDraft
from digester.ingest import store_drafts, upsert_channel
from digester.models import Post, PostState, Tone
from digester.queue import InProcessQueue, QueueClosed
from digester.rewriter import PostText, Rewrite, Rewriter
from digester.worker import Digester, WorkerConfig
from tests.factories import add_subscribers, utc


async def test_queue_keeps_pending_id_once() -> None:
    queue = InProcessQueue()

    await queue.put(7)
    await queue.put(7)
    taken = await queue.get()
    await queue.put(7)

    assert taken == 7
    assert queue.qsize() == 0


async def test_queue_join_waits_for_retry() -> None:
    queue = InProcessQueue()
    await queue.put(1)
    first = await queue.get()

    await queue.task_done(first, retry_in_s=0.05)
    joined = asyncio.create_task(queue.join())
    await asyncio.sleep(0.01)
    assert not joined.done()
    again = await asyncio.wait_for(queue.get(), 1)
    await queue.task_done(again)
    await asyncio.wait_for(joined, 1)

    assert again == 1


async def test_queue_close_wakes_consumers() -> None:
    queue = InProcessQueue()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)

    await queue.close()

    with pytest.raises(QueueClosed):
        await asyncio.wait_for(waiting, 1)


class FailingRewriter(Rewriter):
    """A rewriter whose every call raises, standing in for a bug in one post's processing."""

    def __init__(self) -> None:
        super().__init__(None, max_chars=500, max_attempts=1, deadline_s=1.0)

    async def rewrite(self, post: PostText, tone_code: str, instruction: str) -> Rewrite:
        raise RuntimeError(f"cannot rewrite post {post.post_id}")


async def test_failing_post_marked_failed(database: str) -> None:
    channel = await upsert_channel("habr_com", "Хабр")
    await add_subscribers(channel, [await Tone.get(code="brief")], 2)
    draft = PostDraft("habr_com", "Хабр", 1, "Текст поста", utc(2024, 12, 1))
    await store_drafts(channel, [draft])
    queue = InProcessQueue()
    config = WorkerConfig(consumers=2, max_attempts=3, retry_base_s=0.01)
    digester = Digester(queue, FailingRewriter(), config)

    await digester.requeue_unfinished()
    runner = asyncio.create_task(digester.run())
    await asyncio.wait_for(queue.join(), 5)
    await queue.close()
    await runner

    post = await Post.get()
    assert post.state == PostState.FAILED
    assert post.attempts == 3
    assert post.last_error == f"RuntimeError: cannot rewrite post {post.id}"


async def test_requeue_skips_done_posts(database: str) -> None:
    channel = await upsert_channel("habr_com", "Хабр")
    drafts = [PostDraft("habr_com", "Хабр", n, f"Пост {n}", utc(2024, 12, 1)) for n in (1, 2)]
    await store_drafts(channel, drafts)
    await Post.filter(message_id=1).update(state=PostState.DONE)
    queue = InProcessQueue()

    queued = await Digester(queue, FailingRewriter(), WorkerConfig()).requeue_unfinished()

    assert queued == 1
    assert await queue.get() == (await Post.get(message_id=2)).id
