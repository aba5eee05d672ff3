"""Benchmark of the account pool against the LLM stand-in, and of the old design beside it.

K accounts, each limited to C requests in flight (or, with --rpm, to N requests a minute),
respond at latency L from the stand-in in a child process. Workers send requests through the
pool in a closed loop; then the old design (one asyncio.Lock around an account index, held
across the request, accounts tried one by one) runs against the same stand-in. The last
line printed is one JSON object.

    .venv/bin/python -m benchmarks.pool [--accounts 4] [--concurrency 8] [--latency-ms 200]
        [--requests 2000] [--fault-rate 0.05] [--rpm 600 --seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

import openai
import psutil
from tortoise import Tortoise, connections

from digester import db
from digester.models import ChatGPTAccount
from digester.pool import AccountPool, ChatRequest, PoolError
from tests.standins.process import StandinProcess

REQUEST = ChatRequest(
    messages=[
        {"role": "system", "content": "Rewrite the post in a brief tone."},
        {
            "role": "user",
            "content": "Учёные измерили скорость ледника. Он движется быстрее, чем считалось.",
        },
    ],
    max_tokens=200,
    deadline_s=60.0,
)
UNLIMITED_CONCURRENCY = 10_000


@dataclass
class Run:
    """Measurements of one closed-loop run."""

    completed: int = 0
    failed: int = 0
    latencies_s: list[float] = field(default_factory=list)
    seconds: float = 0.0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=4, help="number of accounts K")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="requests in flight per account"
    )
    parser.add_argument("--latency-ms", type=float, default=200.0, help="stand-in response delay")
    parser.add_argument("--requests", type=int, default=2_000, help="requests through the pool")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="fraction of 500 responses")
    parser.add_argument("--rpm", type=int, help="limit accounts by requests a minute instead")
    parser.add_argument("--seconds", type=float, default=30.0, help="run length with --rpm")
    parser.add_argument("--workers", type=int, help="concurrent callers (default: K times C)")
    parser.add_argument("--baseline-requests", type=int, default=50, help="old design's requests")
    return parser.parse_args()


async def add_accounts(args: argparse.Namespace, keys: list[str], base_url: str) -> None:
    """Store the benchmark accounts; with --rpm they are limited by rate, not concurrency."""
    concurrency = UNLIMITED_CONCURRENCY if args.rpm else args.concurrency
    for number, key in enumerate(keys):
        await ChatGPTAccount.create(
            name=f"bench-{number}",
            api_key=key,
            base_url=base_url,
            model="stand-in",
            max_concurrency=concurrency,
            requests_per_minute=args.rpm or 0,
            tokens_per_minute=0,
        )


async def closed_loop(
    send: Callable[[], Awaitable[object]],
    workers: int,
    spread_s: float,
    requests: int | None,
    seconds: float | None,
) -> Run:
    """Run ``workers`` callers of ``send`` until ``requests`` are done or ``seconds`` pass.

    The workers start evenly spread over ``spread_s``: with the stand-in's fixed latency,
    workers that start together stay in lockstep, and each wave of responses then waits for
    the event loop to parse the whole wave.
    """
    run = Run()
    tickets = iter(range(requests)) if requests is not None else None
    started = time.perf_counter()

    async def worker(number: int) -> None:
        await asyncio.sleep(spread_s * number / workers)
        while tickets is None or next(tickets, None) is not None:
            begun = time.perf_counter()
            try:
                await send()
                run.completed += 1
                run.latencies_s.append(time.perf_counter() - begun)
            except PoolError:
                run.failed += 1

    tasks = [asyncio.create_task(worker(number)) for number in range(workers)]
    if seconds is None:
        await asyncio.gather(*tasks)
    else:
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    run.seconds = time.perf_counter() - started if seconds is None else seconds
    return run


class LockedRoundRobin:
    """The old design: one lock around an account index, held across the whole request."""

    def __init__(self, clients: list[openai.AsyncOpenAI]) -> None:
        self._clients = clients
        self._index = 0
        self._lock = asyncio.Lock()

    async def complete(self) -> None:
        async with self._lock:
            for _ in range(len(self._clients)):
                self._index = (self._index + 1) % len(self._clients)
                try:
                    await self._clients[self._index].chat.completions.create(
                        model="stand-in", messages=REQUEST.messages, max_tokens=REQUEST.max_tokens
                    )  # type: ignore[call-overload]
                    return
                except openai.APIError:
                    continue
            raise PoolError("every account failed")


async def run_pool(args: argparse.Namespace, workers: int) -> tuple[Run, AccountPool]:
    pool = await AccountPool.from_database(request_timeout_s=30.0, seed=1)
    await pool.start()
    try:
        requests = None if args.rpm else args.requests
        seconds = args.seconds if args.rpm else None
        spread_s = args.latency_ms / 1000
        run = await closed_loop(
            partial(pool.complete, REQUEST), workers, spread_s, requests, seconds
        )
    finally:
        await pool.close()
    return run, pool


async def run_baseline(
    args: argparse.Namespace, keys: list[str], base_url: str, workers: int
) -> Run:
    clients = [
        openai.AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=30.0)
        for key in keys
    ]
    old = LockedRoundRobin(clients)
    try:
        return await closed_loop(old.complete, workers, 0.0, args.baseline_requests, None)
    finally:
        await asyncio.gather(*(client.close() for client in clients))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile_ms(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


async def measure(args: argparse.Namespace, database_url: str) -> dict[str, object]:
    keys = [f"sk-bench-pool-{number:04d}-0123456789" for number in range(args.accounts)]
    workers = args.workers or args.accounts * args.concurrency
    async with StandinProcess(
        keys=keys, latency_ms=args.latency_ms, rpm=args.rpm, fault_rate=args.fault_rate, seed=5
    ) as standin:
        await add_accounts(args, keys, standin.base_url)
        cpu_before = cpu_seconds()
        run, pool = await run_pool(args, workers)
        client_cpu_s = cpu_seconds() - cpu_before
        statuses = await standin.status_counts()
        standin_cpu = psutil.Process(standin.pid).cpu_times()
        baseline = await run_baseline(args, keys, standin.base_url, workers)
    select_count, select_ns = pool.selection_stats
    return summarize(args, run, baseline, statuses, select_count, select_ns) | {
        "workers": workers,
        "client_cpu_s": round(client_cpu_s, 2),
        "standin_cpu_s": round(standin_cpu.user + standin_cpu.system, 2),
    }


def summarize(
    args: argparse.Namespace,
    run: Run,
    baseline: Run,
    statuses: dict[int, int],
    select_count: int,
    select_ns: int,
) -> dict[str, object]:
    finished = run.completed + run.failed
    throughput = run.completed / run.seconds
    if args.rpm:
        capacity = args.accounts * args.rpm / 60
    else:
        capacity = args.accounts * args.concurrency / (args.latency_ms / 1000)
    baseline_rps = baseline.completed / baseline.seconds
    responses = sum(statuses.values())
    result: dict[str, object] = {
        "requests": finished,
        "completed": run.completed,
        "failed": run.failed,
        "seconds": round(run.seconds, 2),
        "throughput_rps": round(throughput, 2),
        "capacity_rps": round(capacity, 2),
        "ratio": round(throughput / capacity, 3),
        "attempts_per_request": round(responses / max(1, finished), 4),
        "p50_ms": round(percentile_ms(run.latencies_s, 0.50), 1),
        "p99_ms": round(percentile_ms(run.latencies_s, 0.99), 1),
        "select_us": round(select_ns / max(1, select_count) / 1000, 2),
        "baseline_rps": round(baseline_rps, 2),
        "speedup": round(throughput / baseline_rps, 1),
    }
    if args.fault_rate:
        # With a fault rate p, every completed request takes 1 / (1 - p) attempts on average.
        result["fault_share"] = round(statuses.get(500, 0) / max(1, responses), 4)
        result["attempts_floor"] = round(1 / (1 - min(args.fault_rate, 0.99)), 4)
    if args.rpm:
        result["rate_limited_fraction"] = round(statuses.get(429, 0) / max(1, responses), 4)
    return result


async def main(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite://{folder}/pool-bench.sqlite3"
        await db.migrate(url)
        await Tortoise.init(config=db.tortoise_config(url))
        try:
            return await measure(args, url)
        finally:
            await connections.close_all()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    arguments = parse_arguments()
    print(json.dumps(asyncio.run(main(arguments))))
