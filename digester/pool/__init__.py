"""The ChatGPT account pool: K accounts' worth of throughput, reacting to every response.

``AccountPool.complete`` runs a chat request on the account with the most spare capacity,
retries on other accounts within one deadline, and keeps each account's state in the
database, so cooldowns and disabled accounts survive a restart.
"""

from digester.pool.account import PoolPolicy
from digester.pool.api import (
    AccountStatus,
    AdminAlert,
    AlertKind,
    ChatRequest,
    Completion,
    Validator,
)
from digester.pool.clock import Clock, ManualClock, SystemClock
from digester.pool.errors import NoUsableAccount, PoolError, PoolExhausted, RequestRejected
from digester.pool.persistence import ENV_ACCOUNT_NAME, ensure_env_account
from digester.pool.pool import AccountPool
from digester.pool.redaction import install_secret_masking

install_secret_masking()

__all__ = [
    "ENV_ACCOUNT_NAME",
    "AccountPool",
    "AccountStatus",
    "AdminAlert",
    "AlertKind",
    "ChatRequest",
    "Clock",
    "Completion",
    "ManualClock",
    "NoUsableAccount",
    "PoolError",
    "PoolExhausted",
    "PoolPolicy",
    "RequestRejected",
    "SystemClock",
    "Validator",
    "ensure_env_account",
]
