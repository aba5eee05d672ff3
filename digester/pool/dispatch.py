"""Reservations of accounts, and the FIFO queue of requests that wait for a free account."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections.abc import Collection
from dataclasses import dataclass, field

from digester.pool.account import AccountRuntime, Lease
from digester.pool.clock import Clock
from digester.pool.errors import NoUsableAccount, PoolError, PoolExhausted, RequestRejected
from digester.pool.selection import choose, seconds_until_any_admits

_WAKE_MARGIN_S = 0.001  # lets a bucket refill past the needed level despite float rounding
_WAKE_LOOKAHEAD = 8  # waiters at the head of the line whose needs set the wake-up timer


@dataclass(eq=False, slots=True)
class Waiter:
    """A request waiting for a reservation. Its future receives the lease or the final error."""

    cost: int
    prompt: int
    excluded: frozenset[int]  # the accounts to avoid, chosen by ``Dispatcher.exclusion``
    barred: frozenset[int]  # the accounts whose output was invalid, never asked again
    last_reason: str
    future: asyncio.Future[Lease]
    deadline: float
    timer: asyncio.TimerHandle | None = field(default=None)


class Dispatcher:
    """Reserves accounts synchronously and hands freed capacity to waiters in arrival order.

    A waiter is woken by a release, a state change or a timer set for the next bucket refill
    or cooldown end. A waiter that no account could serve right now does not block the
    waiters behind it.
    """

    def __init__(
        self, accounts: dict[int, AccountRuntime], clock: Clock, rng: random.Random
    ) -> None:
        self._accounts = accounts
        self._clock = clock
        self._rng = rng
        self._waiters: dict[Waiter, None] = {}  # insertion-ordered, so FIFO
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at = math.inf
        self.states_changed = False  # set when an account's state changed, cleared by dispatch
        self.select_count = 0
        self.select_ns = 0

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def reserve_now(self, cost: int, prompt: int, excluded: Collection[int]) -> Lease | None:
        """Reserve the chosen account for a request, or return None when none admits it now."""
        started = time.perf_counter_ns()
        now = self._clock.monotonic()
        account = choose(self._accounts.values(), cost, excluded, now, self._rng)
        lease = account.reserve(cost, prompt, now) if account is not None else None
        self.select_ns += time.perf_counter_ns() - started
        self.select_count += 1
        return lease

    def exclusion(
        self,
        cost: int,
        tried: frozenset[int],
        barred: frozenset[int],
        last_reason: str,
        remaining_s: float,
    ) -> tuple[frozenset[int], PoolError | None]:
        """Return the accounts a request must avoid, or the error when none can serve it.

        A retry goes to an account it has not tried. When none of those can serve in time,
        it may return to a tried one, except to an account whose output was invalid.
        """
        error = self.hopeless(cost, tried, last_reason, remaining_s)
        if error is None or tried == barred:
            return tried, error
        return barred, self.hopeless(cost, barred, last_reason, remaining_s)

    def hopeless(
        self, cost: int, excluded: Collection[int], last_reason: str, remaining_s: float
    ) -> PoolError | None:
        """Return the error for a request that no account can serve in time, else None."""
        usable = [a for a in self._accounts.values() if a.is_usable()]
        if not self._accounts:
            return NoUsableAccount(
                "no ChatGPT account is configured. Add one with `python -m digester accounts add`."
            )
        if not usable:
            count = len(self._accounts)
            return NoUsableAccount(
                f"all {count} ChatGPT accounts are disabled, parked or set to max_concurrency 0"
            )
        untried = [a for a in usable if a.id not in excluded]
        if not untried:
            return PoolExhausted(
                "no usable account is left that this request has not tried", last_reason
            )
        if not any(a.fits(cost) for a in untried):
            return RequestRejected(
                f"request needs about {cost} tokens, "
                "more than the tokens-per-minute limit of any account"
            )
        now = self._clock.monotonic()
        if all(_unavailable(a, cost, now, remaining_s) for a in untried):
            # Waiting would only burn the caller's deadline: no account can take it in time.
            return PoolExhausted(
                f"no account left for this request can start it within the {remaining_s:.1f} s "
                "left: each cools down, has used its per-minute limit, or failed its circuit "
                "breaker probes",
                last_reason,
            )
        return None

    async def acquire(
        self,
        cost: int,
        prompt: int,
        tried: frozenset[int],
        barred: frozenset[int],
        deadline: float,
        last_reason: str,
    ) -> Lease:
        """Return a lease at once or after waiting in line until ``deadline`` (loop time)."""
        loop = asyncio.get_running_loop()
        if loop.time() >= deadline:
            raise PoolExhausted("the request deadline passed", last_reason)
        if not self._waiters:
            lease = self.reserve_now(cost, prompt, tried)
            if lease is not None:
                return lease
        excluded, error = self.exclusion(cost, tried, barred, last_reason, deadline - loop.time())
        if error is not None:
            raise error
        if not self._waiters and excluded != tried:
            lease = self.reserve_now(cost, prompt, excluded)
            if lease is not None:
                return lease
        future: asyncio.Future[Lease] = loop.create_future()
        waiter = Waiter(cost, prompt, excluded, barred, last_reason, future, deadline)
        waiter.timer = loop.call_at(deadline, self._expire, waiter)
        self._waiters[waiter] = None
        self.dispatch()
        try:
            return await waiter.future
        except asyncio.CancelledError:
            self._return_unclaimed(waiter)
            raise
        finally:
            waiter.timer.cancel()
            self._waiters.pop(waiter, None)

    def dispatch(self) -> None:
        """Hand what the accounts admit now to the waiters, in arrival order."""
        if not self._waiters:
            return
        recheck, self.states_changed = self.states_changed, False
        finished: list[Waiter] = []
        for waiter in self._waiters:
            if waiter.future.done():
                continue
            if recheck:
                remaining_s = waiter.deadline - asyncio.get_running_loop().time()
                waiter.excluded, error = self.exclusion(
                    waiter.cost, waiter.excluded, waiter.barred, waiter.last_reason, remaining_s
                )
                if error is not None:
                    waiter.future.set_exception(error)
                    finished.append(waiter)
                    continue
            lease = self.reserve_now(waiter.cost, waiter.prompt, waiter.excluded)
            if lease is not None:
                waiter.future.set_result(lease)
                finished.append(waiter)
            elif not recheck and not self._any_admits():
                break
        for waiter in finished:
            self._waiters.pop(waiter, None)
        self._schedule_wake()

    def fail_all(self, error: PoolError) -> None:
        """Fail every waiting request, when the pool closes."""
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(error)
        self._waiters.clear()
        self._cancel_wake()

    def _any_admits(self) -> bool:
        now = self._clock.monotonic()
        return any(account.admits(1, now) for account in self._accounts.values())

    def _expire(self, waiter: Waiter) -> None:
        if not waiter.future.done():
            error = PoolExhausted("no account became free before the deadline", waiter.last_reason)
            waiter.future.set_exception(error)

    def _return_unclaimed(self, waiter: Waiter) -> None:
        """Give back a lease granted to a waiter that was cancelled before it could use it."""
        future = waiter.future
        if future.done() and not future.cancelled() and future.exception() is None:
            lease = future.result()
            lease.account.unreserve(lease)
            self.dispatch()

    def _schedule_wake(self) -> None:
        """Set a timer for the earliest refill or cooldown end that lets a waiter in."""
        now = self._clock.monotonic()
        delays = []
        for waiter in itertools.islice(self._waiters, _WAKE_LOOKAHEAD):
            if not waiter.future.done():
                accounts = self._accounts.values()
                delay = seconds_until_any_admits(accounts, waiter.cost, waiter.excluded, now)
                delays.append(math.inf if delay is None else delay)
        if not delays:
            self._cancel_wake()
            return
        delay = min(delays)
        if math.isinf(delay):
            return
        loop = asyncio.get_running_loop()
        wake_at = loop.time() + delay + _WAKE_MARGIN_S
        if self._wake is not None and self._wake_at <= wake_at:
            return
        self._cancel_wake()
        self._wake = loop.call_at(wake_at, self._on_wake)
        self._wake_at = wake_at

    def _on_wake(self) -> None:
        self._wake = None
        self._wake_at = math.inf
        self.dispatch()

    def _cancel_wake(self) -> None:
        if self._wake is not None:
            self._wake.cancel()
        self._wake = None
        self._wake_at = math.inf


def _unavailable(account: AccountRuntime, cost: int, now: float, remaining_s: float) -> bool:
    """Tell whether an account cannot start a request within ``remaining_s`` seconds.

    Requests wait for the probes of an open circuit breaker, so a short outage costs no
    rewrite. Once ``breaker_wait_probes`` probes failed in a row, the server counts as down
    until a probe succeeds, and waiting requests would only queue behind it.
    """
    probes_failed = account.failed_probes() >= account.policy.breaker_wait_probes
    if account.breaker_open() and probes_failed and account.cooling_for(now) > 0:
        return True
    # None means the account waits for a running request, which may end at any time.
    wait = account.seconds_until_admits(cost, now)
    return wait is not None and wait >= remaining_s
