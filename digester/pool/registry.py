"""The pool's accounts with their clients, and the persisting, logging and alerting of changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import openai

from digester.models import mask_secret
from digester.pool import persistence
from digester.pool.account import AccountRuntime, PoolPolicy
from digester.pool.api import AccountStatus, AdminAlert
from digester.pool.client import make_client
from digester.pool.clock import Clock
from digester.pool.dispatch import Dispatcher
from digester.pool.reactions import Reaction

log = logging.getLogger(__name__)


class AccountRegistry:
    """Run-time accounts by id, one reused client each, and what follows a state change."""

    def __init__(
        self,
        clock: Clock,
        policy: PoolPolicy,
        dispatcher: Dispatcher,
        accounts: dict[int, AccountRuntime],
        request_timeout_s: float,
    ) -> None:
        self.clock = clock
        self.policy = policy
        self.accounts = accounts
        self.dispatcher = dispatcher
        self.request_timeout_s = request_timeout_s
        self.writer = persistence.StateWriter(clock)
        self.listeners: list[Callable[[AdminAlert], None]] = []
        self._clients: dict[int, openai.AsyncOpenAI] = {}
        self._retired_clients: list[openai.AsyncOpenAI] = []

    def client_for(self, account: AccountRuntime) -> openai.AsyncOpenAI:
        """Return the account's client, creating it on first use."""
        client = self._clients.get(account.id)
        if client is None:
            client = make_client(account.config, self.request_timeout_s)
            self._clients[account.id] = client
        return client

    def apply(self, account: AccountRuntime, reaction: Reaction) -> None:
        """Persist, log and announce what a reaction changed."""
        if reaction.state_changed:
            cooldown = account.cooling_for(self.clock.monotonic())
            log.info(
                "account state changed account=%d name=%s state=%s cooldown_s=%.1f reason=%s",
                account.id,
                account.name,
                account.state,
                cooldown,
                account.state_reason,
            )
            self.writer.mark(account)
            self.dispatcher.states_changed = True
        if reaction.alert is not None:
            self.announce(reaction.alert)

    def announce(self, alert: AdminAlert) -> None:
        """Log an admin alert and pass it to every subscriber."""
        log.warning(
            "admin alert account=%d name=%s kind=%s message=%s",
            alert.account_id,
            alert.account_name,
            alert.kind,
            alert.message,
        )
        for listener in self.listeners:
            try:
                listener(alert)
            except Exception:
                log.exception("admin alert listener failed account=%d", alert.account_id)

    async def refresh(self) -> None:
        """Re-read the accounts from the database and apply what an admin changed."""
        synced = {
            a.id: a.state_version
            for a in self.accounts.values()
            if a.state_version == a.saved_version
        }
        rows = await persistence.load_rows()
        merge = persistence.merge_rows(self.accounts, rows, synced, self.policy, self.clock)
        for account in merge.added:
            log.info(
                "account loaded account=%d name=%s state=%s",
                account.id,
                account.name,
                account.state,
            )
        for account in merge.removed + merge.new_endpoint:
            self._retire_client(account.id)
        # Creating a client loads the TLS trust store, which blocks the loop for a few
        # milliseconds, so it happens here rather than on an account's first request.
        for account in merge.added + merge.new_endpoint:
            self.client_for(account)
        for account in merge.removed:
            log.info("account removed account=%d name=%s", account.id, account.name)
        for account in merge.adopted:
            log.info(
                "account state changed in database account=%d name=%s state=%s reason=%s",
                account.id,
                account.name,
                account.state,
                account.state_reason,
            )
        self.dispatcher.states_changed = True
        self.dispatcher.dispatch()

    def _retire_client(self, account_id: int) -> None:
        """Drop an account's client, closing it with the pool since requests may still use it."""
        client = self._clients.pop(account_id, None)
        if client is not None:
            self._retired_clients.append(client)

    async def flush_usage(self) -> None:
        """Add the usage counted since the last flush to the database."""
        for account in list(self.accounts.values()):
            if account.usage.is_empty():
                continue
            usage = account.usage.drain()
            try:
                await persistence.add_usage(account, usage, self.clock)
            except Exception:
                account.usage.add(usage)
                log.exception("account usage write failed account=%d", account.id)

    async def close_clients(self) -> None:
        clients = [*self._clients.values(), *self._retired_clients]
        self._clients.clear()
        self._retired_clients.clear()
        await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)

    def snapshot(self) -> list[AccountStatus]:
        """Return the live numbers of every account, in id order."""
        now = self.clock.monotonic()
        return [status_of(self.accounts[i], now) for i in sorted(self.accounts)]


def status_of(account: AccountRuntime, now: float) -> AccountStatus:
    """Return the live numbers of one account."""
    account.refill(now)
    return AccountStatus(
        id=account.id,
        name=account.name,
        masked_key=mask_secret(account.config.api_key),
        model=account.config.model,
        state=account.state,
        state_reason=account.state_reason,
        cooldown_s=account.cooling_for(now),
        breaker_open=account.breaker_open(),
        in_flight=account.in_flight,
        max_concurrency=account.config.max_concurrency,
        tokens_reserved=account.tokens_reserved,
        requests_available=account.requests.level,
        tokens_available=account.tokens.level,
        requests_per_minute=account.requests.per_minute,
        tokens_per_minute=account.tokens.per_minute,
        consecutive_failures=account.consecutive_failures,
        requests_total=account.lifetime.requests,
        failures_total=account.lifetime.failures,
        invalid_outputs_total=account.lifetime.invalid_outputs,
    )
