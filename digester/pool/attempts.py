"""One attempt of a chat request on a leased account, and the handling of its outcome."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from digester.pool import reactions
from digester.pool.account import AccountRuntime, Lease
from digester.pool.api import ChatRequest, Completion, Validator
from digester.pool.classify import Failure, FailureKind, classify
from digester.pool.client import ChatResult, output_problem, send_chat
from digester.pool.errors import RequestRejected
from digester.pool.registry import AccountRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AttemptFailed:
    """The reason an attempt failed, and whether the account may serve the request again."""

    reason: str
    bars_account: bool = False  # its output was invalid, so it is not asked again


async def run_attempt(
    registry: AccountRegistry,
    lease: Lease,
    request: ChatRequest,
    deadline: float,
    attempt: int,
    validate: Validator | None,
    rng: random.Random,
) -> Completion | AttemptFailed:
    """Send the request on a leased account, and return the completion or why it failed.

    Everything after the response arrives runs without awaiting, so the account's new state
    is in place before its capacity is handed to another request. The lease is released
    in every case, cancellation included.
    """
    account = lease.account
    result: ChatResult | None = None
    failure: Failure | None = None
    remaining = deadline - asyncio.get_running_loop().time()
    try:
        try:
            result = await _send(registry, account, request, remaining)
        except Exception as error:
            failure = classify(error, account.config.api_key)
            if failure is None:
                raise
            if failure.timed_out and remaining < registry.request_timeout_s:
                failure = Failure(
                    FailureKind.DEADLINE, "the request deadline passed during the call"
                )
        if failure is not None:
            return _handle_failure(registry, lease, failure, rng)
        assert result is not None
        return _handle_result(registry, lease, result, attempt, validate)
    finally:
        _release(registry, lease, result, failure)


async def _send(
    registry: AccountRegistry, account: AccountRuntime, request: ChatRequest, remaining: float
) -> ChatResult:
    if remaining <= 0:
        raise TimeoutError
    client = registry.client_for(account)
    timeout_s = min(registry.request_timeout_s, remaining)
    # The client's timeout bounds each network step; this one bounds the whole call.
    async with asyncio.timeout(remaining):
        return await send_chat(client, account.config.model, request, timeout_s)


def _handle_failure(
    registry: AccountRegistry, lease: Lease, failure: Failure, rng: random.Random
) -> AttemptFailed:
    account = lease.account
    log.warning(
        "chat attempt failed account=%d name=%s kind=%s reason=%s",
        account.id,
        account.name,
        failure.kind,
        failure.reason,
    )
    now = registry.clock.monotonic()
    registry.apply(account, reactions.react_to_failure(account, lease, failure, now, rng))
    if failure.kind is FailureKind.REJECTED:
        raise RequestRejected(failure.reason)
    return AttemptFailed(failure.reason)


def _handle_result(
    registry: AccountRegistry,
    lease: Lease,
    result: ChatResult,
    attempt: int,
    validate: Validator | None,
) -> Completion | AttemptFailed:
    account = lease.account
    now = registry.clock.monotonic()
    reactions.follow_limits(account, result.limits, now)
    account.count_tokens(result.prompt_tokens or 0, result.completion_tokens or 0)
    registry.apply(account, reactions.react_to_success(account, lease, now))
    completion = Completion(
        text=result.text,
        finish_reason=result.finish_reason,
        account_id=account.id,
        account_name=account.name,
        prompt_tokens=result.prompt_tokens or 0,
        completion_tokens=result.completion_tokens or 0,
        attempts=attempt,
    )
    problem = output_problem(result.text, result.finish_reason)
    if problem is None and validate is not None:
        problem = validate(completion)
    if problem is None:
        return completion
    account.count_invalid_output()
    log.warning("invalid output account=%d name=%s reason=%s", account.id, account.name, problem)
    return AttemptFailed(f"invalid output: {problem}", bars_account=True)


def _release(
    registry: AccountRegistry, lease: Lease, result: ChatResult | None, failure: Failure | None
) -> None:
    used = None
    if result is not None and result.prompt_tokens is not None:
        used = result.prompt_tokens + (result.completion_tokens or 0)
    responded = result is not None or (failure is not None and failure.limits is not None)
    lease.account.release(lease, used, responded)
    registry.dispatcher.dispatch()
