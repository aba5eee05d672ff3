"""One account at run time: its settings, limits, reservations, state and circuit breaker."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from digester.models import AccountState, mask_secret
from digester.pool.limits import TokenBucket


@dataclass(frozen=True, slots=True)
class PoolPolicy:
    """Thresholds and intervals of the pool's reactions, in seconds where timed."""

    failure_threshold: int = 3  # consecutive failures that open the circuit breaker
    # The breaker also opens when at least ``failure_rate`` of the last ``failure_window``
    # server outcomes failed, once ``failure_window_min`` outcomes are known.
    failure_window: int = 20
    failure_window_min: int = 10
    failure_rate: float = 0.5
    breaker_base_s: float = 5.0  # first breaker cooldown, doubled by every failed probe
    breaker_max_s: float = 300.0
    rate_limit_default_s: float = 2.0  # cooldown after a 429 without Retry-After or reset
    rate_limit_max_s: float = 3600.0  # maximum cooldown that a Retry-After or reset header sets
    jitter_fraction: float = 0.1  # extra random share added to rate-limit cooldowns
    park_probe_interval_s: float = 1800.0  # how often a parked account gets a probe
    # Requests wait for an open breaker's probes until this many failed in a row. After
    # that the server counts as down, and requests fail at once until a probe succeeds.
    breaker_wait_probes: int = 2


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """The admin-editable settings of an account, as stored in the database."""

    name: str
    api_key: str = field(repr=False)
    base_url: str
    model: str
    weight: float
    requests_per_minute: int
    tokens_per_minute: int
    max_concurrency: int

    def __repr__(self) -> str:
        return f"AccountConfig(name={self.name!r}, key={mask_secret(self.api_key)})"


@dataclass(slots=True)
class Usage:
    """Usage counters accumulated since they were last written to the database."""

    requests: int = 0
    failures: int = 0
    invalid_outputs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    last_used: float | None = None  # monotonic time of the last request sent

    def is_empty(self) -> bool:
        return self.requests == self.failures == self.invalid_outputs == 0

    def drain(self) -> Usage:
        """Return the counters and reset them to zero."""
        counters = replace(self)
        self.requests = self.failures = self.invalid_outputs = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.last_used = None
        return counters

    def add(self, other: Usage) -> None:
        """Add counters back, after a write of them failed."""
        self.requests += other.requests
        self.failures += other.failures
        self.invalid_outputs += other.invalid_outputs
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.last_used = max(self.last_used or 0.0, other.last_used or 0.0) or None


@dataclass(slots=True, eq=False)
class Lease:
    """A reservation on one account: a concurrency slot, one request and some tokens."""

    account: AccountRuntime
    tokens: int  # taken from the tokens-per-minute bucket and counted in tokens_reserved
    prompt_estimate: int
    is_probe: bool  # the one request that decides a half-open breaker
    released: bool = False


class AccountRuntime:
    """The live state of one account. Every method is synchronous, so it runs uninterrupted."""

    def __init__(self, account_id: int, config: AccountConfig, policy: PoolPolicy, now: float):
        self.id = account_id
        self.config = config
        self.policy = policy
        self.requests = TokenBucket(config.requests_per_minute, now)
        self.tokens = TokenBucket(config.tokens_per_minute, now)
        self.in_flight = 0
        self.tokens_reserved = 0
        self.state = AccountState.ACTIVE
        # Monotonic seconds; for a parked account, the time of its next billing probe.
        self.cooldown_until: float | None = None
        self.state_reason = ""
        self.consecutive_failures = 0
        self.outcomes = OutcomeWindow(policy.failure_window)
        self.probe_in_flight = False
        self.state_version = 0  # bumped by every state change
        self.saved_version = 0  # the state version last written to the database
        # The state last read from or written to the database. A write only replaces a row
        # that still has it, so it never undoes an admin's enable or disable.
        self.stored_state: AccountState | None = None
        self.usage = Usage()
        self.lifetime = Usage()

    def __repr__(self) -> str:
        return (
            f"<AccountRuntime id={self.id} name={self.config.name!r} "
            f"key={mask_secret(self.config.api_key)} state={self.state}>"
        )

    @property
    def name(self) -> str:
        return self.config.name

    def is_usable(self) -> bool:
        """Tell whether the account may serve requests now or after a cooldown."""
        usable_state = self.state in (AccountState.ACTIVE, AccountState.COOLING)
        return usable_state and self.config.max_concurrency > 0

    def breaker_open(self) -> bool:
        return self.state is AccountState.COOLING and self.is_tripped()

    def is_tripped(self) -> bool:
        return self.consecutive_failures >= self.policy.failure_threshold

    def failed_probes(self) -> int:
        """Return how many probes failed since the breaker opened; each doubles its cooldown."""
        return max(0, self.consecutive_failures - self.policy.failure_threshold)

    def cooling_for(self, now: float) -> float:
        """Return the seconds left of the cooldown, 0 when there is none."""
        if self.cooldown_until is None:
            return 0.0
        return max(0.0, self.cooldown_until - now)

    def settle(self, now: float) -> bool:
        """Make the account active once a rate-limit cooldown has ended, and return True if so."""
        if self.state is not AccountState.COOLING or self.is_tripped():
            return False
        if self.cooling_for(now) > 0:
            return False
        self.set_state(AccountState.ACTIVE, "", None)
        return True

    def refill(self, now: float) -> None:
        self.requests.refill(now)
        self.tokens.refill(now)

    def admits(self, cost: int, now: float) -> bool:
        """Tell whether a request of ``cost`` tokens may start on this account now."""
        if self.state is AccountState.COOLING:
            if self.cooling_for(now) > 0:
                return False
            if self.is_tripped() and self.probe_in_flight:
                return False
        elif self.state is not AccountState.ACTIVE:
            return False
        if self.in_flight >= self.config.max_concurrency or not self.fits(cost):
            return False
        self.refill(now)
        return self.requests.admits(1) and self.tokens.admits(cost)

    def fits(self, cost: int) -> bool:
        """Tell whether a request of ``cost`` tokens is within the tokens-per-minute limit."""
        return self.tokens.unlimited or cost <= self.tokens.per_minute

    def seconds_until_admits(self, cost: int, now: float) -> float | None:
        """Return the seconds until time alone makes room for ``cost``, or None."""
        if not self.is_usable() or (self.is_tripped() and self.probe_in_flight):
            return None
        if self.in_flight >= self.config.max_concurrency:
            return None
        self.refill(now)
        wait = max(self.requests.seconds_until(1), self.tokens.seconds_until(cost))
        return max(wait, self.cooling_for(now))

    def spare(self) -> float:
        """Return the free share of the tightest limit, from 0 to 1 (call ``refill`` first)."""
        slots = 1.0 - self.in_flight / max(1, self.config.max_concurrency)
        return max(0.0, min(slots, _share(self.requests), _share(self.tokens)))

    def reserve(self, cost: int, prompt_estimate: int, now: float) -> Lease:
        """Take a slot, one request and ``cost`` tokens, and mark a half-open breaker's probe."""
        is_probe = self.breaker_open()
        self.in_flight += 1
        self.tokens_reserved += cost
        self.requests.take(1)
        self.tokens.take(cost)
        self.probe_in_flight = self.probe_in_flight or is_probe
        for usage in (self.usage, self.lifetime):
            usage.requests += 1
            usage.last_used = now
        return Lease(self, cost, prompt_estimate, is_probe)

    def release(self, lease: Lease, used_tokens: int | None, responded: bool) -> None:
        """Return a reservation once and correct the token bucket to the tokens really used.

        Without a usage count, a request that got an error response used no tokens, and one
        that got no response at all may have used its prompt.
        """
        if lease.released:
            return
        lease.released = True
        self.in_flight -= 1
        self.tokens_reserved -= lease.tokens
        if lease.is_probe:
            self.probe_in_flight = False
        if used_tokens is None:
            used_tokens = 0 if responded else lease.prompt_estimate
        self.tokens.give_back(lease.tokens - used_tokens)

    def unreserve(self, lease: Lease) -> None:
        """Return a reservation whose request was never sent, request count included."""
        if lease.released:
            return
        self.release(lease, 0, responded=True)
        self.requests.give_back(1)
        self.usage.requests -= 1
        self.lifetime.requests -= 1

    def count_probe(self, now: float) -> None:
        for usage in (self.usage, self.lifetime):
            usage.requests += 1
            usage.last_used = now

    def count_tokens(self, prompt_tokens: int, completion_tokens: int) -> None:
        for usage in (self.usage, self.lifetime):
            usage.prompt_tokens += prompt_tokens
            usage.completion_tokens += completion_tokens

    def count_invalid_output(self) -> None:
        self.usage.invalid_outputs += 1
        self.lifetime.invalid_outputs += 1

    def record_success(self, lease: Lease, now: float) -> bool:
        """Reset the failure count, and return True when this closed the breaker."""
        if self.breaker_open() and not lease.is_probe:
            return False  # while the breaker is open, only the probe decides
        closes = self.breaker_open()
        self.consecutive_failures = 0
        self.outcomes.add(failed=False)
        if closes and self.cooling_for(now) > 0:
            # A rate limit arrived while the probe ran: its cooldown outlives the breaker.
            self.set_state(AccountState.COOLING, self.state_reason, self.cooldown_until)
        elif closes:
            self.set_state(AccountState.ACTIVE, "probe request succeeded", None)
        return closes

    def count_failure(self) -> None:
        self.usage.failures += 1
        self.lifetime.failures += 1

    def record_failure(self, lease: Lease, reason: str, now: float) -> bool:
        """Count a server failure for the breaker, and return True when it opened the breaker."""
        if not self.is_usable() or (self.breaker_open() and not lease.is_probe):
            return False
        self.consecutive_failures += 1
        self.outcomes.add(failed=True)
        if self.is_tripped():
            cause = f"{self.consecutive_failures} failures in a row"
        elif self._failure_rate_exceeded():
            cause = f"{self.outcomes.failures} of the last {len(self.outcomes)} requests failed"
            # The breaker's state is its failure streak, which is what the database keeps.
            self.consecutive_failures = self.policy.failure_threshold
        else:
            return False
        self._open_breaker(f"circuit open after {cause}: {reason}", now)
        return True

    def _failure_rate_exceeded(self) -> bool:
        window = self.outcomes
        if len(window) < max(1, self.policy.failure_window_min):
            return False
        return window.failures >= self.policy.failure_rate * len(window)

    def _open_breaker(self, text: str, now: float) -> None:
        doublings = self.failed_probes()
        backoff = min(self.policy.breaker_max_s, self.policy.breaker_base_s * 2.0**doublings)
        self.outcomes.clear()  # after the cooldown, the probe and new outcomes decide
        self.cool_down(now + backoff, text)

    def cool_down(self, until: float, reason: str) -> None:
        """Stop using the account until ``until``, keeping a later deadline already set."""
        if not self.is_usable():
            return
        if self.cooldown_until is not None and self.cooldown_until > until:
            until = self.cooldown_until
        self.set_state(AccountState.COOLING, reason, until)

    def set_state(self, state: AccountState, reason: str, cooldown_until: float | None) -> None:
        """Change the state, to be written to the database by the pool."""
        self.state = state
        self.state_reason = reason[:255]
        self.cooldown_until = cooldown_until
        if state is AccountState.ACTIVE:
            self.consecutive_failures = 0
        self.state_version += 1


class OutcomeWindow:
    """The last few server outcomes of an account, as a sliding count of failures."""

    __slots__ = ("_outcomes", "failures")

    def __init__(self, size: int) -> None:
        self._outcomes: deque[bool] = deque(maxlen=max(1, size))
        self.failures = 0

    def __len__(self) -> int:
        return len(self._outcomes)

    def add(self, *, failed: bool) -> None:
        if len(self._outcomes) == self._outcomes.maxlen:
            self.failures -= self._outcomes[0]
        self._outcomes.append(failed)
        self.failures += failed

    def clear(self) -> None:
        self._outcomes.clear()
        self.failures = 0


def _share(bucket: TokenBucket) -> float:
    if bucket.unlimited:
        return 1.0
    return bucket.level / bucket.capacity
