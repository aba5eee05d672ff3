"""Choice of the account for a request: the better of two weighted random candidates."""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable

from digester.pool.account import AccountRuntime
from digester.pool.api import ChatRequest

_MIN_WEIGHT = 1e-3  # a weight of 0 or less still lets an account serve, rarely
_MAX_WEIGHT = 1e6  # keeps the sum of weights finite


def estimate_prompt_tokens(messages: list[dict[str, str]]) -> int:
    """Estimate the prompt tokens: about four characters a token, plus framing per message."""
    return sum(len(message.get("content") or "") // 4 + 4 for message in messages) + 3


def request_cost(request: ChatRequest) -> tuple[int, int]:
    """Return the tokens to reserve for a request and the prompt estimate inside them."""
    prompt = estimate_prompt_tokens(request.messages)
    return prompt + request.max_tokens, prompt


def choose(
    accounts: Iterable[AccountRuntime],
    cost: int,
    excluded: Collection[int],
    now: float,
    rng: random.Random,
) -> AccountRuntime | None:
    """Pick an account that admits the request now, or return None when none does.

    Two candidates are drawn with probability proportional to their weights, and the one
    with more spare capacity wins, so load follows capacity and every account gets traffic.
    """
    candidates = [a for a in accounts if a.id not in excluded and a.admits(cost, now)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    weights = [_weight_of(a) for a in candidates]
    first, second = rng.choices(candidates, weights=weights, k=2)
    return first if first.spare() >= second.spare() else second


def _weight_of(account: AccountRuntime) -> float:
    """Return the account's weight within the bounds; a weight that is not a number counts as 1."""
    weight = account.config.weight
    if math.isnan(weight):
        return 1.0
    return min(max(weight, _MIN_WEIGHT), _MAX_WEIGHT)


def seconds_until_any_admits(
    accounts: Iterable[AccountRuntime], cost: int, excluded: Collection[int], now: float
) -> float | None:
    """Return the seconds until time alone lets some account admit the request, or None."""
    waits = []
    for account in accounts:
        if account.id in excluded:
            continue
        wait = account.seconds_until_admits(cost, now)
        if wait is not None and wait > 0:
            waits.append(wait)
    return min(waits) if waits else None
