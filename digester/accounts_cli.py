"""The ``accounts`` command: add, list, edit, enable, disable, remove and test ChatGPT accounts.

Keys are read from an environment variable or standard input, never from the command line,
because other users of the machine could see them there. Output shows keys masked.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from digester.account_input import key_problem, shown_url, split_base_url
from digester.models import AccountState, ChatGPTAccount, mask_secret
from digester.pool import ENV_ACCOUNT_NAME
from digester.pool.client import probe_account
from digester.pool.persistence import config_of
from digester.pool.redaction import remember_secret
from digester.rewriter import smallest_rewrite_cost
from digester.settings import Settings

_TEST_TIMEOUT_S = 30.0
_LIMIT_OPTIONS = ("weight", "requests_per_minute", "tokens_per_minute", "max_concurrency")

NAME_MAX_LENGTH = 64
MODEL_MAX_LENGTH = 128  # max_length of the chatgpt_account.model column
WEIGHT_MAX = 1000.0
LIMIT_MAX = 2_147_483_647  # IntField is a 32-bit integer column on PostgreSQL
_DEFAULT_SUMMARY_MAX_CHARS: int = Settings.model_fields["summary_max_chars"].default


class CommandError(Exception):
    """A command cannot run as given. The message names the problem and what to change."""


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser | None = None,
) -> None:
    """Add the ``accounts`` command and its subcommands to a parser's subcommands."""
    parents = [common] if common is not None else []
    accounts = subparsers.add_parser("accounts", parents=parents, help="manage ChatGPT accounts")
    actions = accounts.add_subparsers(dest="accounts_command", required=True)
    _add_add(actions, parents)
    actions.add_parser("list", parents=parents, help="print every account with masked keys")
    edit = actions.add_parser("edit", parents=parents, help="change an account's settings")
    edit.add_argument("name", help="account name")
    _add_key_options(edit, default_variable=None)
    _add_setting_options(edit, defaults=False)
    for action, text in (
        ("enable", "make an account active again and clear its cooldown and failures"),
        ("disable", "stop using an account until it is enabled"),
        ("remove", "delete an account"),
        ("test", "send a one-token request through an account and print the outcome"),
    ):
        actions.add_parser(action, parents=parents, help=text).add_argument(
            "name", help="account name"
        )


def _add_add(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    add = actions.add_parser("add", parents=parents, help="add an account")
    add.add_argument("name", help="unique account name, for example team-a")
    _add_key_options(add, default_variable="OPENAI_API_KEY")
    _add_setting_options(add, defaults=True)


def _add_key_options(parser: argparse.ArgumentParser, default_variable: str | None) -> None:
    default_text = f" (default: {default_variable})" if default_variable else ""
    parser.add_argument(
        "--key-env",
        default=default_variable,
        metavar="VARIABLE",
        help=f"environment variable that contains the API key{default_text}",
    )
    parser.add_argument(
        "--key-stdin", action="store_true", help="read the API key from the first input line"
    )


def _add_setting_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    def default(value: object) -> object:
        return value if defaults else None

    parser.add_argument(
        "--base-url",
        default=default("https://api.openai.com/v1"),
        help="OpenAI-compatible API root (default: https://api.openai.com/v1)",
    )
    parser.add_argument(
        "--model", default=default("gpt-4o-mini"), help="chat model name (default: gpt-4o-mini)"
    )
    parser.add_argument(
        "--weight",
        type=float,
        default=default(1.0),
        help=f"share of traffic relative to other accounts, 0 to {WEIGHT_MAX:g} (default: 1)",
    )
    parser.add_argument(
        "--rpm",
        dest="requests_per_minute",
        type=int,
        default=default(500),
        help="requests per minute, 0 for no limit (default: 500)",
    )
    parser.add_argument(
        "--tpm",
        dest="tokens_per_minute",
        type=int,
        default=default(200_000),
        help="tokens per minute, 0 for no limit (default: 200000)",
    )
    parser.add_argument(
        "--concurrency",
        dest="max_concurrency",
        type=int,
        default=default(8),
        help="requests in flight at once, 1 or more (default: 8)",
    )


async def run(
    args: argparse.Namespace, database_url: str, settings: Settings | None = None
) -> int:
    """Run an ``accounts`` subcommand on the connected database, and return the exit code.

    ``settings`` sets SUMMARY_MAX_CHARS for the --tpm warning. Without it the default applies.
    """
    del database_url  # the caller has connected Tortoise to it already
    handlers = {
        "add": _add,
        "list": _list,
        "edit": _edit,
        "enable": _enable,
        "disable": _disable,
        "remove": _remove,
        "test": _test,
    }
    try:
        code = await handlers[args.accounts_command](args)
    except CommandError as error:
        sys.stderr.write(f"accounts {args.accounts_command}: {error}\n")
        return 1
    tokens_per_minute = getattr(args, "tokens_per_minute", None)
    if code == 0 and tokens_per_minute:
        max_chars = settings.summary_max_chars if settings else _DEFAULT_SUMMARY_MAX_CHARS
        _warn_if_tpm_below_rewrite(args.accounts_command, tokens_per_minute, max_chars)
    return code


async def _add(args: argparse.Namespace) -> int:
    _check_name(args.name)
    settings = _checked_settings(args)
    key = _read_key(args)
    remember_secret(key)
    if await ChatGPTAccount.exists(name=args.name):
        raise CommandError(f"account {args.name!r} already exists, so pick another name")
    try:
        account = await ChatGPTAccount.create(name=args.name, api_key=key, **settings)
    except IntegrityError as error:
        if not await ChatGPTAccount.exists(name=args.name):
            raise
        raise CommandError(
            f"account {args.name!r} already exists, so pick another name"
        ) from error
    sys.stdout.write(f"added account {account.id} {args.name!r} key={mask_secret(key)}\n")
    if args.name == ENV_ACCOUNT_NAME:
        _warn_env_account("add")
    return 0


def _read_key(args: argparse.Namespace) -> str:
    if args.key_stdin:
        key = sys.stdin.readline().strip()
        if not key:
            raise CommandError("API key missing on standard input. Pipe it in as one line.")
        _check_key(key, "standard input")
        return key
    key = os.environ.get(args.key_env, "").strip()
    if not key:
        raise CommandError(
            f"environment variable {args.key_env} is not set or empty. "
            "Set it, name another with --key-env, or pass --key-stdin."
        )
    _check_key(key, f"environment variable {args.key_env}")
    return key


def _check_key(key: str, source: str) -> None:
    problem = key_problem(key)
    if problem is not None:
        raise CommandError(
            f"API key from {source} is invalid because it {problem}. Check the key and try again."
        )


def _checked_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Validate the setting options given, and return them as column values."""
    settings: dict[str, Any] = {}
    if args.base_url is not None:
        settings["base_url"] = _checked_base_url(args.base_url)
    if args.model is not None:
        _check_model(args.model)
        settings["model"] = args.model
    if args.weight is not None:
        _check_weight(args.weight)
        settings["weight"] = args.weight
    limits = (
        ("--rpm", "requests_per_minute", 0),
        ("--tpm", "tokens_per_minute", 0),
        ("--concurrency", "max_concurrency", 1),
    )
    for option, column, minimum in limits:
        value = getattr(args, column)
        if value is not None:
            _check_limit(option, value, minimum)
            settings[column] = value
    return settings


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > NAME_MAX_LENGTH:
        raise CommandError(
            f"account name {name!r} is invalid: use 1 to {NAME_MAX_LENGTH} characters"
        )
    if name != name.strip():
        raise CommandError(
            f"account name {name!r} is invalid because it starts or ends with whitespace. "
            "Remove it."
        )
    if not name.isprintable():
        raise CommandError(
            f"account name {name!r} is invalid because it contains a control character. "
            "Use letters, digits, punctuation and inner spaces."
        )


def _check_model(model: str) -> None:
    if not model.strip():
        raise CommandError(
            f"--model {model!r} is invalid because it is empty. "
            "Give the chat model name, for example gpt-4o-mini."
        )
    if model != model.strip() or not model.isprintable() or len(model) > MODEL_MAX_LENGTH:
        raise CommandError(
            f"--model {model!r} is invalid. Use 1 to {MODEL_MAX_LENGTH} printable characters "
            "without whitespace at the start or end, for example gpt-4o-mini."
        )


def _check_weight(weight: float) -> None:
    if not (math.isfinite(weight) and 0 <= weight <= WEIGHT_MAX):
        raise CommandError(f"--weight {weight} is invalid. Use a number from 0 to {WEIGHT_MAX:g}.")


def _check_limit(option: str, value: int, minimum: int) -> None:
    if minimum <= value <= LIMIT_MAX:
        return
    if minimum == 0:
        expected = f"Use 0 for no limit, or a whole number up to {LIMIT_MAX}."
    else:
        expected = f"Use a whole number from {minimum} to {LIMIT_MAX}."
    raise CommandError(f"{option} {value} is invalid. {expected}")


def _checked_base_url(url: str) -> str:
    """Validate a --base-url value, and return it with its scheme in lower case."""
    parts, problem = split_base_url(url)
    if parts is None or problem is not None:
        raise CommandError(
            f"--base-url {shown_url(url)!r} is invalid because {problem}, "
            "expected an http(s):// URL such as https://api.openai.com/v1"
        )
    return parts.scheme + url[len(parts.scheme) :]


def _warn_if_tpm_below_rewrite(command: str, tokens_per_minute: int, max_chars: int) -> None:
    needed = smallest_rewrite_cost(max_chars)
    if tokens_per_minute < needed:
        sys.stderr.write(
            f"accounts {command}: warning: --tpm {tokens_per_minute} is below the {needed} "
            f"tokens that one rewrite reserves at least with SUMMARY_MAX_CHARS={max_chars}, "
            f"so the pool rejects every rewrite on this account. "
            f"Use 0 for no limit, or {needed} or more.\n"
        )


def _warn_env_account(command: str) -> None:
    sys.stderr.write(
        f"accounts {command}: warning: account {ENV_ACCOUNT_NAME!r} mirrors OPENAI_API_KEY, "
        "OPENAI_BASE_URL and OPENAI_MODEL. Every replay run with OPENAI_API_KEY set resets "
        "its key, base URL and model from them (base URL and model to their defaults when "
        "unset), so change those variables instead. A different key there also clears its "
        "state. Its weight and limits are kept.\n"
    )


async def _find(name: str) -> ChatGPTAccount:
    account = await ChatGPTAccount.get_or_none(name=name)
    if account is None:
        raise CommandError(f"account {name!r} not found. `accounts list` prints the names.")
    return account


async def _list(args: argparse.Namespace) -> int:
    rows = await ChatGPTAccount.all().order_by("id")
    if not rows:
        sys.stdout.write("no accounts; add one with `accounts add NAME`\n")
        return 0
    header = (
        "id",
        "name",
        "key",
        "model",
        "state",
        "cooldown",
        "weight",
        "rpm",
        "tpm",
        "conc",
        "requests",
        "failures",
        "invalid",
        "tokens",
        "last used",
        "reason",
    )
    table = [header, *(_row_cells(row) for row in rows)]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(header))]
    for cells in table:
        line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        sys.stdout.write(line.rstrip() + "\n")
    return 0


def _row_cells(row: ChatGPTAccount) -> tuple[str, ...]:
    now = datetime.now(UTC)
    cooldown = "-"
    if row.cooldown_until is not None and row.cooldown_until > now:
        cooldown = f"{(row.cooldown_until - now).total_seconds():.0f}s"
    last_used = row.last_used_at.strftime("%Y-%m-%d %H:%M") if row.last_used_at else "-"
    tokens = row.prompt_tokens_total + row.completion_tokens_total
    return (
        str(row.id),
        row.name,
        mask_secret(row.api_key),
        row.model,
        str(row.state),
        cooldown,
        f"{row.weight:g}",
        str(row.requests_per_minute),
        str(row.tokens_per_minute),
        str(row.max_concurrency),
        str(row.requests_total),
        str(row.failures_total),
        str(row.invalid_outputs_total),
        str(tokens),
        last_used,
        row.state_reason or "-",
    )


async def _edit(args: argparse.Namespace) -> int:
    changes = _checked_settings(args)
    account = await _find(args.name)
    if args.key_env or args.key_stdin:
        changes["api_key"] = _read_key(args)
        remember_secret(changes["api_key"])
    if not changes:
        raise CommandError("nothing to change. Pass at least one setting or key option.")
    await ChatGPTAccount.filter(id=account.id).update(**changes)
    sys.stdout.write(f"updated account {args.name!r}: {', '.join(sorted(changes))}\n")
    if "api_key" in changes:
        _print_state_after_new_key(account)
    if account.name == ENV_ACCOUNT_NAME:
        _warn_env_account("edit")
    return 0


def _print_state_after_new_key(account: ChatGPTAccount) -> None:
    """Print that a new key leaves a disabled or parked account's state unchanged."""
    enable = f"Run `accounts enable {shlex.quote(account.name)}`"
    if account.state == AccountState.DISABLED:
        sys.stdout.write(
            f"account {account.name!r} stays disabled. {enable} to use the new key.\n"
        )
    elif account.state == AccountState.PARKED:
        sys.stdout.write(
            f"account {account.name!r} stays parked until a billing probe succeeds. "
            f"{enable} to use the new key now.\n"
        )


async def _enable(args: argparse.Namespace) -> int:
    account = await _find(args.name)
    await ChatGPTAccount.filter(id=account.id).update(
        state=AccountState.ACTIVE, state_reason="", cooldown_until=None, consecutive_failures=0
    )
    sys.stdout.write(f"enabled account {args.name!r} (was {account.state})\n")
    return 0


async def _disable(args: argparse.Namespace) -> int:
    account = await _find(args.name)
    await ChatGPTAccount.filter(id=account.id).update(
        state=AccountState.DISABLED, state_reason="disabled by an admin", cooldown_until=None
    )
    sys.stdout.write(f"disabled account {args.name!r}\n")
    return 0


async def _remove(args: argparse.Namespace) -> int:
    account = await _find(args.name)
    await account.delete()
    sys.stdout.write(f"removed account {args.name!r}\n")
    return 0


async def _test(args: argparse.Namespace) -> int:
    account = await _find(args.name)
    _check_stored_account(account)
    outcome, ok = await probe_account(config_of(account), _TEST_TIMEOUT_S)
    sys.stdout.write(f"account {args.name!r} ({mask_secret(account.api_key)}): {outcome}\n")
    return 0 if ok else 1


def _check_stored_account(account: ChatGPTAccount) -> None:
    """Raise for a stored key or base URL that the client cannot send, as older rows may have."""
    stored_key_problem = key_problem(account.api_key)
    if stored_key_problem is not None:
        raise CommandError(
            f"account {account.name!r} has an invalid API key because it {stored_key_problem}. "
            f"Replace it with `accounts edit {shlex.quote(account.name)} --key-env VARIABLE`."
        )
    _, url_problem = split_base_url(account.base_url)
    if url_problem is not None:
        raise CommandError(
            f"account {account.name!r} has an invalid base URL "
            f"{shown_url(account.base_url)!r} because {url_problem}. "
            f"Replace it with `accounts edit {shlex.quote(account.name)} --base-url URL`."
        )
