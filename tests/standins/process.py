"""The LLM stand-in in a child process, so that its CPU time does not compete with the client."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

_ROOT = Path(__file__).resolve().parent.parent.parent
_START_TIMEOUT_S = 20.0
_STOP_TIMEOUT_S = 5.0


class StandinProcess:
    """Runs ``python -m tests.standins.llm`` on 127.0.0.1 and talks to its admin endpoints.

    Without ``keys`` the stand-in accepts every key, each with the given behaviour.
    """

    def __init__(
        self,
        *,
        keys: Sequence[str] | None = None,
        latency_ms: float = 0.0,
        rpm: int | None = None,
        tpm: int | None = None,
        fault_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.base_url = ""
        self._arguments = ["--latency-ms", str(latency_ms), "--fault-rate", str(fault_rate)]
        self._arguments += ["--seed", str(seed)]
        self._arguments += ["--rpm", str(rpm)] if rpm else []
        self._arguments += ["--tpm", str(tpm)] if tpm else []
        for key in keys or ():
            self._arguments += ["--key", key]
        if keys is None:
            self._arguments.append("--any-key")
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> StandinProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.standins.llm",
            *self._arguments,
            cwd=_ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), _START_TIMEOUT_S)
        self.base_url = line.decode().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            await self._stop()
            raise RuntimeError(f"LLM stand-in failed to start; it printed {line!r}")
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
        await self._stop()

    async def _stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()

    @property
    def pid(self) -> int:
        """Return the process id of the running stand-in."""
        assert self._process is not None
        return self._process.pid

    @property
    def _admin_url(self) -> str:
        return self.base_url.removesuffix("/v1") + "/_admin"

    async def configure(self, key: str, **options: Any) -> None:
        """Create or replace a key's behaviour: latency_ms, rpm, tpm, fault_rate, script."""
        assert self._session is not None
        async with self._session.post(f"{self._admin_url}/keys/{key}", json=options) as response:
            response.raise_for_status()

    async def stats(self) -> dict[str, Any]:
        """Return the response counts per key label and status."""
        assert self._session is not None
        async with self._session.get(f"{self._admin_url}/stats") as response:
            response.raise_for_status()
            result: dict[str, Any] = await response.json()
            return result

    async def status_counts(self) -> Counter[int]:
        """Return how many responses of each HTTP status were sent, over all keys."""
        counts: Counter[int] = Counter()
        for key_stats in (await self.stats()).values():
            for status, count in key_stats["statuses"].items():
                counts[int(status)] += count
        return counts

    async def total_requests(self) -> int:
        """Return how many chat requests the stand-in received."""
        return sum((await self.status_counts()).values())
