"""Benchmark of the digester: real posts through the worker, the pool and the LLM stand-in.

S subscribers over C channels and 6 tones; P posts (real texts from the shipped exports)
go through the worker with K accounts of N concurrent requests each against the stand-in at
a fixed latency. A second, small run with 100 subscribers checks that the statements per
post do not depend on the number of subscribers. The last line printed is one JSON object.

    .venv/bin/python -m benchmarks.digester [--subscribers 10000] [--posts 1000] ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise import Tortoise, connections

from digester import db
from digester.drafts import PostDraft
from digester.ingest import store_drafts, upsert_channel
from digester.models import Channel, ChatGPTAccount, Post, Subscription, Summary, Tone
from digester.pool import AccountPool
from digester.queue import InProcessQueue
from digester.rewriter import Rewriter
from digester.tones import AS_IS, seed_builtin_tones
from digester.worker import Digester, WorkerConfig
from parser.desktop_export import load_desktop_export
from tests.factories import add_subscribers
from tests.standins.process import StandinProcess

EXPORTS = Path(__file__).resolve().parent.parent / "tests" / "data" / "channel_exports"
CURRENT_POST: contextvars.ContextVar[int | None] = contextvars.ContextVar("post", default=None)


class PerPostStatements(logging.Handler):
    """Counts Tortoise statements per post, by the post the running task is processing."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.counts: defaultdict[int, int] = defaultdict(int)

    def emit(self, record: logging.LogRecord) -> None:
        post_id = CURRENT_POST.get()
        if post_id is not None and not str(record.msg).startswith("Created connection"):
            self.counts[post_id] += 1


class MeasuredDigester(Digester):
    """The real worker, with each post's statements attributed to it."""

    async def process(self, post_id: int) -> None:
        token = CURRENT_POST.set(post_id)
        try:
            await super().process(post_id)
        finally:
            CURRENT_POST.reset(token)


def real_texts(count: int) -> list[str]:
    """Return ``count`` texts of real posts, repeating the exports when more are asked for."""
    texts = []
    for name in ("habr.json", "naked_science.json"):
        texts += [d.text_html for d in load_desktop_export(EXPORTS / name).drafts if d.text_html]
    return [texts[n % len(texts)] for n in range(count)]


async def seed(subscribers: int, channels: int, posts: int) -> list[Channel]:
    tones = list(await Tone.all().order_by("id"))
    rows = [await upsert_channel(f"bench_channel_{n:03d}", f"Канал {n}") for n in range(channels)]
    per_channel = subscribers // channels
    for number, channel in enumerate(rows):
        await add_subscribers(channel, tones, per_channel, first_id=1 + number * per_channel)
    start = datetime(2024, 12, 1, tzinfo=UTC)
    texts = real_texts(posts)
    for number, text in enumerate(texts):
        channel = rows[number % channels]
        draft = PostDraft(channel.username, channel.title, number + 1, text,
                          start + timedelta(minutes=number))  # fmt: skip
        await store_drafts(channel, [draft])
    return rows


async def add_accounts(base_url: str, accounts: int, concurrency: int) -> None:
    for number in range(accounts):
        await ChatGPTAccount.create(
            name=f"bench-{number}", api_key=f"sk-bench-key-{number:04d}", base_url=base_url,
            model="stand-in", max_concurrency=concurrency, requests_per_minute=1_000_000,
            tokens_per_minute=1_000_000_000,
        )  # fmt: skip


async def run_worker(
    consumers: int, timeout_s: float
) -> tuple[float, PerPostStatements, AccountPool]:
    pool = await AccountPool.from_database(request_timeout_s=timeout_s)
    await pool.start()
    rewriter = Rewriter(pool, max_chars=1200, max_attempts=3, deadline_s=timeout_s * 3)
    queue = InProcessQueue()
    digester = MeasuredDigester(queue, rewriter, WorkerConfig(consumers=consumers))
    counter = PerPostStatements()
    logger = logging.getLogger("tortoise.db_client")
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    started = time.perf_counter()
    await digester.requeue_unfinished()
    runner = asyncio.create_task(digester.run())
    await queue.join()
    seconds = time.perf_counter() - started
    await queue.close()
    await runner
    logger.removeHandler(counter)
    logger.setLevel(logging.WARNING)
    await pool.close()
    return seconds, counter, pool


async def one_run(
    args: argparse.Namespace, subscribers: int, posts: int, base_url: str
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite://{folder}/bench.sqlite3"
        # The schema comes straight from the models: aerich keeps state between runs in one
        # process, and migrations are not what this benchmark measures.
        await Tortoise.init(config=db.tortoise_config(url))
        await Tortoise.generate_schemas()
        try:
            await seed_builtin_tones()
            await seed(subscribers, args.channels, posts)
            await add_accounts(base_url, args.accounts, args.concurrency)
            seconds, counter, _ = await run_worker(args.consumers, args.timeout_s)
            expected = await expected_model_calls()
            calls = await _summaries_by_model()
        finally:
            await connections.close_all()
    counts = list(counter.counts.values())
    return {
        "posts": posts, "seconds": seconds, "llm_calls_stored": calls,
        "llm_calls_expected": expected,
        "statements_mean": statistics.fmean(counts), "statements_max": max(counts),
    }  # fmt: skip


async def expected_model_calls() -> int:
    """Return the sum over posts of the distinct tones, "as is" aside, of their channel."""
    total = 0
    for channel in await Channel.all():
        tones = (
            await Subscription.filter(channel_id=channel.id, is_active=True)
            .exclude(tone__code=AS_IS)
            .distinct()
            .values_list("tone_id", flat=True)
        )
        total += len(set(tones)) * await Post.filter(channel_id=channel.id).count()
    return total


async def _summaries_by_model() -> int:
    return await Summary.filter(is_original=False).count()


async def main(args: argparse.Namespace) -> dict[str, object]:
    async with StandinProcess(latency_ms=args.latency_ms) as standin:
        small = await one_run(args, 100, min(args.posts, 100), standin.base_url)
        calls_before = await standin.total_requests()
        large = await one_run(args, args.subscribers, args.posts, standin.base_url)
        llm_calls = await standin.total_requests() - calls_before
    calls_per_post = large["llm_calls_expected"] / args.posts  # 5 when every tone is present
    capacity_rps = args.accounts * args.concurrency / (args.latency_ms / 1000)
    capacity_posts = capacity_rps / calls_per_post
    posts_per_s = args.posts / large["seconds"]
    return {
        "posts": args.posts,
        "subscribers": args.subscribers,
        "seconds": round(large["seconds"], 2),
        "posts_per_s": round(posts_per_s, 2),
        "llm_calls": llm_calls,
        "llm_calls_expected": int(large["llm_calls_expected"]),
        "sql_statements_per_post_mean": round(large["statements_mean"], 2),
        "sql_statements_per_post_max": large["statements_max"],
        "sql_statements_per_post_max_100_subscribers": small["statements_max"],
        "capacity_posts_per_s": round(capacity_posts, 2),
        "ratio": round(posts_per_s / capacity_posts, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--posts", type=int, default=1_000)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8, help="requests per account")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--consumers", type=int, default=16, help="posts processed at once")
    parser.add_argument("--timeout-s", type=float, default=30.0)
    return parser.parse_args()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(json.dumps(asyncio.run(main(parse_arguments()))))
