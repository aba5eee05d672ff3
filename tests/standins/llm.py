"""An OpenAI-compatible chat completions server on 127.0.0.1 for tests and benchmarks.

In process::

    async with LLMStandin() as llm:
        llm.add_key("sk-test-0001", latency_s=0.05, script=["server_error"])
        client = openai.AsyncOpenAI(api_key="sk-test-0001", base_url=llm.base_url)

As a subprocess, ``python -m tests.standins.llm --key KEY --latency-ms 200`` prints the base URL
on stdout once it listens; ``POST /_admin/keys/{key}`` reconfigures a key and
``GET /_admin/stats`` returns the response counts per key and status.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.standins import llm_replies as replies
from tests.standins.llm_replies import RecordedRequest

_HOST = "127.0.0.1"


@dataclass
class KeyBehaviour:
    """How the stand-in responds to one API key."""

    latency_s: float = 0.0
    fault_rate: float = 0.0
    script: deque[str] = field(default_factory=deque)
    request_bucket: replies.MinuteBucket | None = None
    token_bucket: replies.MinuteBucket | None = None


class LLMStandin:
    """The server: per-key behaviour, recorded requests, start and stop."""

    def __init__(self, *, port: int = 0, seed: int = 0, hang_s: float = 600.0) -> None:
        self.port = port
        self.hang_s = hang_s
        self.keys: dict[str, KeyBehaviour] = {}
        self.recorded: list[RecordedRequest] = []
        self._random = random.Random(seed)
        self._any_key_options: dict[str, Any] | None = None
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{_HOST}:{self.port}/v1"

    async def __aenter__(self) -> LLMStandin:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on 127.0.0.1, on an ephemeral port unless one was given."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/_admin/keys/{key}", self._admin_configure)
        app.router.add_delete("/_admin/keys/{key}", self._admin_revoke)
        app.router.add_get("/_admin/stats", self._admin_stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, _HOST, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Release hanging requests and stop the server."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def add_key(
        self,
        key: str,
        *,
        latency_s: float = 0.0,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        fault_rate: float = 0.0,
        script: Iterable[str] = (),
    ) -> None:
        """Accept a key (replacing its behaviour if it exists) with the given behaviour."""
        now = time.monotonic()
        behaviour = KeyBehaviour(latency_s=latency_s, fault_rate=fault_rate)
        if requests_per_minute:
            behaviour.request_bucket = replies.MinuteBucket.full(requests_per_minute, now)
        if tokens_per_minute:
            behaviour.token_bucket = replies.MinuteBucket.full(tokens_per_minute, now)
        self.keys[key] = behaviour
        self.script(key, *script)

    def accept_any_key(self, **options: Any) -> None:
        """Accept unknown keys too, each with its own behaviour built from ``add_key`` options."""
        self._any_key_options = options

    def script(self, key: str, *outcomes: str) -> None:
        """Queue outcomes that the next requests with this key get, one each, in order."""
        for outcome in outcomes:
            if outcome.split(":", 1)[0] not in replies.OUTCOMES:
                raise ValueError(f"unknown scripted outcome {outcome!r}")
            self.keys[key].script.append(outcome)

    def revoke(self, key: str) -> None:
        """Forget a key, so that its next requests get 401 invalid_api_key."""
        self.keys.pop(key, None)

    def requests(self, key: str | None = None) -> list[RecordedRequest]:
        """Return the recorded requests, all of them or those of one key."""
        return [r for r in self.recorded if key is None or r.key == key]

    def status_counts(self) -> dict[str, Counter[int]]:
        """Return how many responses of each HTTP status every key got."""
        counts: dict[str, Counter[int]] = {}
        for request in self.recorded:
            counts.setdefault(request.key, Counter())[request.status] += 1
        return counts

    async def _chat(self, http_request: web.Request) -> web.Response:
        key = http_request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        body = await http_request.json()
        record = RecordedRequest(
            key=key,
            at=time.monotonic(),
            model=str(body.get("model", "")),
            messages=list(body.get("messages", [])),
            max_tokens=body.get("max_tokens", body.get("max_completion_tokens")),
        )
        self.recorded.append(record)
        response = await self._respond(record)
        record.status = response.status
        return response

    async def _respond(self, record: RecordedRequest) -> web.Response:
        if record.key not in self.keys and self._any_key_options is not None and record.key:
            self.add_key(record.key, **self._any_key_options)
        behaviour = self.keys.get(record.key)
        if behaviour is None:
            return self._error(record, "invalid_api_key", {})
        headers, wait_s = self._charge(behaviour, record)
        if wait_s > 0:
            headers |= replies.retry_after_headers(wait_s)
            return self._error(record, "rate_limited", headers, wait_s=wait_s)
        outcome = self._next_outcome(behaviour)
        await asyncio.sleep(behaviour.latency_s)
        if outcome == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.hang_s)
            outcome = "ok"
        return self._reply(record, outcome, headers)

    def _charge(
        self, behaviour: KeyBehaviour, record: RecordedRequest
    ) -> tuple[dict[str, str], float]:
        """Take one request and the token estimate from the key's buckets, unless one is short."""
        now = time.monotonic()
        cost = replies.estimate_prompt_tokens(record.messages) + (record.max_tokens or 0)
        charges = [
            (behaviour.request_bucket, 1, "requests"),
            (behaviour.token_bucket, cost, "tokens"),
        ]
        wait_s = 0.0
        for bucket, amount, _ in charges:
            if bucket is not None:
                bucket.refill(now)
                wait_s = max(wait_s, bucket.wait_for(amount))
        headers: dict[str, str] = {}
        for bucket, amount, resource in charges:
            if bucket is None:
                continue
            if wait_s == 0:
                bucket.level -= amount
            headers |= bucket.headers(resource)
        return headers, wait_s

    def _next_outcome(self, behaviour: KeyBehaviour) -> str:
        if behaviour.script:
            return behaviour.script.popleft()
        if behaviour.fault_rate and self._random.random() < behaviour.fault_rate:
            return "server_error"
        return "ok"

    def _reply(
        self, record: RecordedRequest, outcome: str, headers: dict[str, str]
    ) -> web.Response:
        name, _, argument = outcome.partition(":")
        if name == "rate_limited":
            return self._scripted_rate_limit(record, argument, headers)
        if name in replies.ERROR_OUTCOMES:
            return self._error(record, name, headers)
        record.outcome = name
        text, finish_reason = replies.reply_text(record, name)
        return web.json_response(
            replies.completion_body(record, text, finish_reason), headers=headers
        )

    def _scripted_rate_limit(
        self, record: RecordedRequest, argument: str, headers: dict[str, str]
    ) -> web.Response:
        """Respond 429 with ``Retry-After`` and an exhausted request budget resetting later."""
        retry_after, _, reset = argument.partition(":")
        wait_s = float(retry_after or 1)
        headers |= replies.retry_after_headers(wait_s)
        headers["x-ratelimit-remaining-requests"] = "0"
        headers["x-ratelimit-reset-requests"] = replies.format_duration(float(reset or wait_s))
        return self._error(record, "rate_limited", headers, wait_s=wait_s)

    def _error(
        self, record: RecordedRequest, outcome: str, headers: dict[str, str], wait_s: float = 0.0
    ) -> web.Response:
        record.outcome = outcome
        status = replies.ERROR_OUTCOMES[outcome][0]
        body = replies.error_body(outcome, key=record.key, model=record.model, wait_s=wait_s)
        headers = headers | {"x-request-id": f"req_{uuid.uuid4().hex[:16]}"}
        return web.json_response(body, status=status, headers=headers)

    async def _admin_configure(self, http_request: web.Request) -> web.Response:
        """Create or replace a key's behaviour from a JSON body (see ``add_key``)."""
        options = await http_request.json()
        self.add_key(
            http_request.match_info["key"],
            latency_s=float(options.get("latency_ms", 0)) / 1000,
            requests_per_minute=options.get("rpm"),
            tokens_per_minute=options.get("tpm"),
            fault_rate=float(options.get("fault_rate", 0.0)),
            script=options.get("script", ()),
        )
        return web.json_response({"configured": True})

    async def _admin_revoke(self, http_request: web.Request) -> web.Response:
        self.revoke(http_request.match_info["key"])
        return web.json_response({"revoked": True})

    async def _admin_stats(self, http_request: web.Request) -> web.Response:
        stats = {
            replies.key_label(key): {"requests": sum(counts.values()), "statuses": dict(counts)}
            for key, counts in self.status_counts().items()
        }
        return web.json_response(stats)


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.standins.llm", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--key", action="append", default=[], help="API key to accept; repeat for several"
    )
    parser.add_argument("--any-key", action="store_true", help="accept every API key")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay of every response, in milliseconds"
    )
    parser.add_argument("--rpm", type=int, help="requests per minute allowed per key")
    parser.add_argument("--tpm", type=int, help="tokens per minute allowed per key")
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="fraction of 500 responses, drawn at random"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    return parser.parse_args()


async def _serve(arguments: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    async with LLMStandin(port=arguments.port, seed=arguments.seed) as llm:
        options = {
            "latency_s": arguments.latency_ms / 1000,
            "requests_per_minute": arguments.rpm,
            "tokens_per_minute": arguments.tpm,
            "fault_rate": arguments.fault_rate,
        }
        for key in arguments.key:
            llm.add_key(key, **options)
        if arguments.any_key:
            llm.accept_any_key(**options)
        print(llm.base_url, flush=True)  # noqa: T201
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_serve(_parse_arguments()))
