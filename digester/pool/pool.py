"""The account pool: runs chat requests on the ChatGPT accounts stored in the database."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from digester.models import AccountState
from digester.pool import reactions
from digester.pool.account import AccountRuntime, PoolPolicy
from digester.pool.api import AccountStatus, AdminAlert, ChatRequest, Completion, Validator
from digester.pool.attempts import run_attempt
from digester.pool.classify import Failure, classify
from digester.pool.client import PROBE_REQUEST, send_chat
from digester.pool.clock import Clock, SystemClock
from digester.pool.dispatch import Dispatcher
from digester.pool.errors import PoolError, PoolExhausted
from digester.pool.registry import AccountRegistry
from digester.pool.selection import request_cost

log = logging.getLogger(__name__)


class AccountPool:
    """Spreads chat requests over the accounts by spare capacity, and reacts to every response.

    Choosing and reserving an account never awaits, and no lock is held across a request.
    """

    def __init__(
        self,
        *,
        request_timeout_s: float = 60.0,
        refresh_interval_s: float = 5.0,
        clock: Clock | None = None,
        policy: PoolPolicy | None = None,
        seed: int | None = None,
    ) -> None:
        clock = clock or SystemClock()
        accounts: dict[int, AccountRuntime] = {}
        self._rng = random.Random(seed)
        self._dispatcher = Dispatcher(accounts, clock, self._rng)
        self._registry = AccountRegistry(
            clock, policy or PoolPolicy(), self._dispatcher, accounts, request_timeout_s
        )
        self._refresh_interval_s = refresh_interval_s
        self._refresher: asyncio.Task[None] | None = None
        self._probes: set[asyncio.Task[None]] = set()
        self._closed = False

    @classmethod
    async def from_database(
        cls,
        *,
        request_timeout_s: float = 60.0,
        refresh_interval_s: float = 5.0,
        clock: Clock | None = None,
        policy: PoolPolicy | None = None,
        seed: int | None = None,
    ) -> AccountPool:
        """Create a pool with the accounts stored in the database."""
        pool = cls(
            request_timeout_s=request_timeout_s,
            refresh_interval_s=refresh_interval_s,
            clock=clock,
            policy=policy,
            seed=seed,
        )
        await pool.refresh()
        return pool

    async def start(self) -> None:
        """Start the background task that re-reads accounts, writes usage and probes."""
        if self._refresher is None and not self._closed:
            self._refresher = asyncio.create_task(self._refresh_forever(), name="account-pool")
            log.info("account pool started accounts=%d", len(self._registry.accounts))

    async def close(self) -> None:
        """Stop background work, fail waiting requests, write state and usage, close clients."""
        if self._closed:
            return
        self._closed = True
        tasks = [t for t in (self._refresher, *self._probes) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._dispatcher.fail_all(PoolError("the account pool is closed"))
        self._settle_accounts()  # a cooldown that ended is not stored as still running
        await self._registry.writer.close()
        await self._registry.flush_usage()
        await self._registry.close_clients()
        log.info("account pool closed")

    async def refresh(self) -> None:
        """Re-read the accounts now, so that admin changes take effect without a restart."""
        await self._registry.refresh()

    def has_usable_account(self) -> bool:
        """Tell whether any account is active or cooling down (neither disabled nor parked)."""
        return any(account.is_usable() for account in self._registry.accounts.values())

    def subscribe(self, listener: Callable[[AdminAlert], None]) -> None:
        """Call ``listener`` with every alert meant for admins. The listener must not block."""
        self._registry.listeners.append(listener)

    def snapshot(self) -> list[AccountStatus]:
        """Return the live numbers of every account, in id order."""
        return self._registry.snapshot()

    @property
    def waiting_requests(self) -> int:
        """Return how many requests wait in line for a free account."""
        return self._dispatcher.waiting

    @property
    def selection_stats(self) -> tuple[int, int]:
        """Return how many account choices were made and their total time in nanoseconds."""
        return self._dispatcher.select_count, self._dispatcher.select_ns

    async def complete(
        self, request: ChatRequest, validate: Validator | None = None
    ) -> Completion:
        """Run a chat request in up to ``max_attempts`` attempts within its deadline.

        A retry goes to an account the request has not tried while one can serve in time,
        and otherwise returns to a tried one, except to an account whose output was invalid.
        So a pool of one account still retries a server error.

        Raises NoUsableAccount at once when no account can serve, RequestRejected when the
        server rejects the request itself, and PoolExhausted when attempts or time run out.
        """
        if self._closed:
            raise PoolError("the account pool is closed")
        if request.max_attempts < 1 or request.max_tokens < 1:
            raise ValueError("max_attempts and max_tokens must be at least 1")
        deadline = asyncio.get_running_loop().time() + request.deadline_s
        cost, prompt = request_cost(request)
        tried: set[int] = set()
        barred: set[int] = set()
        last_reason = ""
        for attempt in range(1, request.max_attempts + 1):
            lease = await self._dispatcher.acquire(
                cost, prompt, frozenset(tried), frozenset(barred), deadline, last_reason
            )
            result = await run_attempt(
                self._registry, lease, request, deadline, attempt, validate, self._rng
            )
            if isinstance(result, Completion):
                return result
            tried.add(lease.account.id)
            if result.bars_account:
                barred.add(lease.account.id)
            last_reason = result.reason
        raise PoolExhausted(f"all {request.max_attempts} attempts failed", last_reason)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_interval_s)
            try:
                await self._tick()
            except Exception:
                log.exception(
                    "account pool refresh failed, next in %.1f s", self._refresh_interval_s
                )

    async def _tick(self) -> None:
        await self._registry.flush_usage()
        await self._registry.writer.flush()
        await self._registry.refresh()
        self._settle_accounts()
        self._start_park_probes()

    def _settle_accounts(self) -> None:
        """Mark accounts whose rate-limit cooldown ended as active again."""
        now = self._registry.clock.monotonic()
        for account in self._registry.accounts.values():
            if account.settle(now):
                self._registry.apply(account, reactions.Reaction(state_changed=True))

    def _start_park_probes(self) -> None:
        now = self._registry.clock.monotonic()
        for account in self._registry.accounts.values():
            due = account.state is AccountState.PARKED and account.cooling_for(now) == 0
            if due and not account.probe_in_flight:
                account.probe_in_flight = True
                task = asyncio.create_task(self._probe_parked(account), name="account-probe")
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)

    async def _probe_parked(self, account: AccountRuntime) -> None:
        """Send a one-token chat request to a parked account to learn whether it can pay again."""
        registry = self._registry
        failure: Failure | None = None
        try:
            account.count_probe(registry.clock.monotonic())
            client = registry.client_for(account)
            timeout_s = registry.request_timeout_s
            await send_chat(client, account.config.model, PROBE_REQUEST, timeout_s)
        except Exception as error:
            failure = classify(error, account.config.api_key)
            if failure is None:
                log.exception("billing probe failed account=%d", account.id)
                return
        finally:
            account.probe_in_flight = False
        log.info(
            "billing probe done account=%d name=%s ok=%s",
            account.id,
            account.name,
            failure is None,
        )
        reaction = reactions.react_to_park_probe(account, failure, registry.clock.monotonic())
        registry.apply(account, reaction)
        self._dispatcher.dispatch()
