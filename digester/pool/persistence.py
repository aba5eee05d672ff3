"""Reading accounts from the database and writing their state and usage back."""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field

from tortoise.expressions import F

from digester.models import AccountState, ChatGPTAccount
from digester.pool.account import AccountConfig, AccountRuntime, PoolPolicy, Usage
from digester.pool.clock import Clock, to_monotonic, to_wall
from digester.pool.redaction import remember_secret
from digester.settings import Settings

log = logging.getLogger(__name__)

ENV_ACCOUNT_NAME = "env"
_COOLDOWN_TOLERANCE_S = 1.0  # wall/monotonic round trips drift by far less than this


def config_of(row: ChatGPTAccount) -> AccountConfig:
    """Return the admin-editable settings of a database row."""
    remember_secret(row.api_key)
    return AccountConfig(
        name=row.name,
        api_key=row.api_key,
        base_url=row.base_url,
        model=row.model,
        weight=row.weight,
        requests_per_minute=row.requests_per_minute,
        tokens_per_minute=row.tokens_per_minute,
        max_concurrency=row.max_concurrency,
    )


def build_account(row: ChatGPTAccount, policy: PoolPolicy, clock: Clock) -> AccountRuntime:
    """Create the run-time account of a database row, with its stored state."""
    account = AccountRuntime(row.id, config_of(row), policy, clock.monotonic())
    adopt_state(account, row, clock)
    return account


def adopt_state(account: AccountRuntime, row: ChatGPTAccount, clock: Clock) -> bool:
    """Take the state stored in the database, and return True when it differed."""
    cooldown = to_monotonic(clock, row.cooldown_until) if row.cooldown_until else None
    account.stored_state = AccountState(row.state)
    if (
        account.state == row.state
        and account.state_reason == row.state_reason
        and _same_instant(account.cooldown_until, cooldown)
    ):
        return False
    account.state = AccountState(row.state)
    account.state_reason = row.state_reason
    account.cooldown_until = cooldown
    account.consecutive_failures = row.consecutive_failures
    account.outcomes.clear()  # outcomes from before an admin's change no longer count
    return True


def _same_instant(first: float | None, second: float | None) -> bool:
    if first is None or second is None:
        return first is second
    return math.isclose(first, second, abs_tol=_COOLDOWN_TOLERANCE_S)


@dataclass
class RowMerge:
    """The changes that a refresh made to the run-time accounts."""

    added: list[AccountRuntime] = field(default_factory=list)
    removed: list[AccountRuntime] = field(default_factory=list)
    new_endpoint: list[AccountRuntime] = field(default_factory=list)  # key or base URL changed
    adopted: list[AccountRuntime] = field(default_factory=list)  # state changed in the database


def merge_rows(
    accounts: dict[int, AccountRuntime],
    rows: list[ChatGPTAccount],
    synced_versions: dict[int, int],
    policy: PoolPolicy,
    clock: Clock,
) -> RowMerge:
    """Apply database rows to ``accounts`` in place.

    ``synced_versions`` contains, for accounts whose state was fully written before the rows
    were read, the state version at that time. Only those accounts take the stored state,
    so a state change still being written is never overwritten by an older row.
    """
    merge = RowMerge()
    seen = set()
    for row in rows:
        seen.add(row.id)
        account = accounts.get(row.id)
        if account is None:
            accounts[row.id] = account = build_account(row, policy, clock)
            merge.added.append(account)
            continue
        _apply_config(account, config_of(row), merge)
        synced = synced_versions.get(row.id) == account.state_version == account.saved_version
        if synced and adopt_state(account, row, clock):
            merge.adopted.append(account)
    for account_id in set(accounts) - seen:
        merge.removed.append(accounts.pop(account_id))
    return merge


def _apply_config(account: AccountRuntime, config: AccountConfig, merge: RowMerge) -> None:
    old = account.config
    if old == config:
        return
    if (old.api_key, old.base_url) != (config.api_key, config.base_url):
        merge.new_endpoint.append(account)
    account.config = config
    account.requests.reconfigure(config.requests_per_minute)
    account.tokens.reconfigure(config.tokens_per_minute)


async def load_rows() -> list[ChatGPTAccount]:
    """Read every account row, in id order."""
    return await ChatGPTAccount.all().order_by("id")


async def save_state(account: AccountRuntime, clock: Clock) -> None:
    """Write the account's state columns as they are now.

    A row whose state an admin changed since the pool last read or wrote it keeps the
    admin's state, and the next refresh takes it.
    """
    version = account.state_version
    state, reason, cooldown = account.state, account.state_reason, account.cooldown_until
    rows = ChatGPTAccount.filter(id=account.id)
    if account.stored_state is not None:
        rows = rows.filter(state=account.stored_state)
    updated = await rows.update(
        state=state,
        cooldown_until=to_wall(clock, cooldown) if cooldown is not None else None,
        state_reason=reason,
        consecutive_failures=account.consecutive_failures,
    )
    if updated:
        account.stored_state = state
    else:
        log.info(
            "account state not written, an admin changed or removed it account=%d state=%s",
            account.id,
            state,
        )
    account.saved_version = max(account.saved_version, version)


async def add_usage(account: AccountRuntime, usage: Usage, clock: Clock) -> None:
    """Add usage counters to the account's row.

    The failure streak is written with state changes only, so that these writes never undo
    an admin's reset of it.
    """
    values: dict[str, object] = {
        "requests_total": F("requests_total") + usage.requests,
        "failures_total": F("failures_total") + usage.failures,
        "invalid_outputs_total": F("invalid_outputs_total") + usage.invalid_outputs,
        "prompt_tokens_total": F("prompt_tokens_total") + usage.prompt_tokens,
        "completion_tokens_total": F("completion_tokens_total") + usage.completion_tokens,
    }
    if usage.last_used is not None:
        values["last_used_at"] = to_wall(clock, usage.last_used)
    await ChatGPTAccount.filter(id=account.id).update(**values)


class StateWriter:
    """Writes state changes soon after they happen, one background task at a time."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._pending: dict[int, AccountRuntime] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # One write at a time, so that each compares the row with the state the previous
        # write left (the background writer and the pool's periodic flush both write).
        self._writing = asyncio.Lock()

    def mark(self, account: AccountRuntime) -> None:
        """Queue the account's current state for writing and start the writer if idle.

        After ``close`` nothing is written, because the database may be closed too.
        """
        if self._closed:
            return
        self._pending[account.id] = account
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.flush(), name="account-state-writer")

    async def flush(self) -> None:
        """Write every queued state. A failed write stays queued for the next flush."""
        async with self._writing:
            while self._pending:
                account_id, account = next(iter(self._pending.items()))
                del self._pending[account_id]
                try:
                    await save_state(account, self._clock)
                except Exception:
                    log.exception("account state write failed account=%d", account_id)
                    self._pending.setdefault(account_id, account)
                    return

    async def close(self) -> None:
        """Wait for the running write, then write what is still queued."""
        self._closed = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()


async def ensure_env_account(settings: Settings) -> None:
    """Create or update the account named ``env`` from OPENAI_API_KEY, when that is set.

    A changed key clears the stored state, because a disabled or parked key was replaced.
    """
    secret = settings.openai_api_key
    key = secret.get_secret_value() if secret is not None else ""
    if not key:
        return
    remember_secret(key)
    row = await ChatGPTAccount.get_or_none(name=ENV_ACCOUNT_NAME)
    if row is None:
        await ChatGPTAccount.create(
            name=ENV_ACCOUNT_NAME,
            api_key=key,
            base_url=settings.openai_base_url,
            model=settings.openai_model,
        )
        log.info("account added from environment name=%s", ENV_ACCOUNT_NAME)
        return
    values: dict[str, object] = {
        "api_key": key,
        "base_url": settings.openai_base_url,
        "model": settings.openai_model,
    }
    if row.api_key != key:
        values |= {
            "state": AccountState.ACTIVE,
            "state_reason": "",
            "cooldown_until": None,
            "consecutive_failures": 0,
        }
    await ChatGPTAccount.filter(id=row.id).update(**values)
    log.info("account updated from environment name=%s account=%d", ENV_ACCOUNT_NAME, row.id)
