"""A replay killed or stopped in the middle loses nothing when restarted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

from digester.models import DigestItem, Post, PostState, Summary
from tests.digest_helpers import HABR, REPOSITORY, message_problems
from tests.standins.llm import LLMStandin

POSTS = 40
TONES = ("brief", "ironic")
CONSUMERS = 4
KEY = "sk-crash-test-0001"


def _environment(llm: LLMStandin, extra: dict[str, str]) -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")
    }
    environment.update(
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_MODEL="stand-in",
        DIGESTER_WORKERS=str(CONSUMERS),
        LOG_LEVEL="WARNING",
    )
    environment.update(extra)
    return environment


async def _start_replay(
    database_url: str, llm: LLMStandin, **extra: str
) -> asyncio.subprocess.Process:
    arguments = ["-m", "digester", "replay", str(HABR), "--channel", "habr_com"]
    arguments += ["--latest", str(POSTS), "--database", database_url, "--json"]
    for tone in TONES:
        arguments += ["--tone", tone]
    return await asyncio.create_subprocess_exec(
        sys.executable, *arguments, cwd=REPOSITORY, env=_environment(llm, extra),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _wait_for_requests(llm: LLMStandin, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while len(llm.requests()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} requests in {timeout_s} s"
        await asyncio.sleep(0.01)  # noqa: ASYNC110 - the stand-in offers no event to wait on


async def test_sigkill_mid_replay_loses_nothing(database: str) -> None:
    async with LLMStandin() as llm:
        llm.add_key(KEY, latency_s=0.2)
        first = await _start_replay(database, llm)
        await _wait_for_requests(llm, POSTS * len(TONES) // 3, timeout_s=60)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        calls_at_kill = len(llm.requests())
        persisted = await Summary.filter(is_original=False).count()

        second = await _start_replay(database, llm)
        stdout, stderr = await asyncio.wait_for(second.communicate(), timeout=120)

        assert second.returncode == 0, stderr.decode()
        messages = json.loads(stdout)
        assert message_problems(messages) == []
        expected_calls = POSTS * len(TONES)
        lost = calls_at_kill - persisted
        assert await Post.filter(state=PostState.DONE).count() == POSTS
        assert await Summary.all().count() == POSTS * len(TONES)
        assert await Summary.filter(is_original=True).count() == 0
        assert await DigestItem.all().count() == POSTS * len(TONES)
        assert 0 <= lost <= CONSUMERS * len(TONES)
        assert len(llm.requests()) <= expected_calls + lost


async def test_sigterm_finishes_posts_in_flight(database: str) -> None:
    async with LLMStandin() as llm:
        llm.add_key(KEY, latency_s=0.2)
        first = await _start_replay(database, llm)
        await _wait_for_requests(llm, POSTS * len(TONES) // 3, timeout_s=60)
        first.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(first.communicate(), timeout=30)
        done = await Post.filter(state=PostState.DONE).count()
        summaries = await Summary.all().count()

        second = await _start_replay(database, llm)
        _, second_stderr = await asyncio.wait_for(second.communicate(), timeout=120)

        assert first.returncode == 143, stderr.decode()
        assert "SIGTERM" in stderr.decode()
        assert 0 < done < POSTS
        assert summaries == done * len(TONES)
        assert await Post.filter(state=PostState.FAILED).count() == 0
        assert second.returncode == 0, second_stderr.decode()
        assert await Post.filter(state=PostState.DONE).count() == POSTS
        assert await Summary.all().count() == POSTS * len(TONES)
        assert len(llm.requests()) == POSTS * len(TONES)


async def test_sigterm_hands_back_hung_posts(database: str) -> None:
    async with LLMStandin(hang_s=60.0) as llm:
        llm.add_key(KEY, latency_s=0.05, script=["hang"] * CONSUMERS)
        first = await _start_replay(database, llm, SHUTDOWN_GRACE_S="1")
        await _wait_for_requests(llm, CONSUMERS, timeout_s=60)
        started = time.monotonic()
        first.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(first.communicate(), timeout=30)
        elapsed = time.monotonic() - started

        second = await _start_replay(database, llm)
        _, second_stderr = await asyncio.wait_for(second.communicate(), timeout=120)

        assert first.returncode == 143, stderr.decode()
        assert "finishing the posts in flight for up to 1 s" in stderr.decode()
        assert "handed back the posts in flight" in stderr.decode()
        assert elapsed < 5
        assert second.returncode == 0, second_stderr.decode()
        assert await Post.filter(state=PostState.DONE).count() == POSTS
        assert await Summary.filter(is_original=True).count() == 0
        assert await DigestItem.all().count() == POSTS * len(TONES)


async def test_second_sigterm_stops_at_once(database: str) -> None:
    async with LLMStandin(hang_s=60.0) as llm:
        llm.add_key(KEY, latency_s=0.05, script=["hang"] * CONSUMERS)
        first = await _start_replay(database, llm)
        await _wait_for_requests(llm, CONSUMERS, timeout_s=60)
        started = time.monotonic()
        first.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        first.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(first.communicate(), timeout=30)
        elapsed = time.monotonic() - started

        assert first.returncode == 143, stderr.decode()
        assert "second SIGTERM" in stderr.decode()
        assert elapsed < 5
        assert await Post.filter(state=PostState.FAILED).count() == 0
        assert await Summary.filter(is_original=True).count() == 0
