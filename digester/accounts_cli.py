"""The ``accounts`` command: add, list, edit, enable, disable, remove and test ChatGPT accounts.

Keys are read from an environment variable or standard input, never from the command line,
because other users of the machine could see them there. Output shows keys masked.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from digester.models import AccountState, ChatGPTAccount, mask_secret
from digester.pool.client import probe_account
from digester.pool.persistence import config_of
from digester.pool.redaction import remember_secret

_TEST_TIMEOUT_S = 30.0
_LIMIT_OPTIONS = ("weight", "requests_per_minute", "tokens_per_minute", "max_concurrency")


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
        help="share of traffic relative to other accounts (default: 1)",
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
        help="requests in flight at once (default: 8)",
    )


async def run(args: argparse.Namespace, database_url: str) -> int:
    """Run an ``accounts`` subcommand on the connected database, and return the exit code."""
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
        return await handlers[args.accounts_command](args)
    except CommandError as error:
        sys.stderr.write(f"accounts {args.accounts_command}: {error}\n")
        return 1


NAME_MAX_LENGTH = 64


async def _add(args: argparse.Namespace) -> int:
    _check_name(args.name)
    _check_settings(args)
    key = _read_key(args)
    remember_secret(key)
    if await ChatGPTAccount.exists(name=args.name):
        raise CommandError(f"account {args.name!r} already exists, so pick another name")
    try:
        account = await ChatGPTAccount.create(name=args.name, api_key=key, **_settings_of(args))
    except IntegrityError as error:
        raise CommandError(
            f"account {args.name!r} already exists, so pick another name"
        ) from error
    sys.stdout.write(f"added account {account.id} {args.name!r} key={mask_secret(key)}\n")
    return 0


def _read_key(args: argparse.Namespace) -> str:
    if args.key_stdin:
        key = sys.stdin.readline().strip()
        if not key:
            raise CommandError("API key missing on standard input. Pipe it in as one line.")
        return key
    key = os.environ.get(args.key_env, "").strip()
    if not key:
        raise CommandError(
            f"environment variable {args.key_env} is not set or empty. "
            "Set it, name another with --key-env, or pass --key-stdin."
        )
    return key


def _settings_of(args: argparse.Namespace) -> dict[str, Any]:
    names = ("base_url", "model", *_LIMIT_OPTIONS)
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > NAME_MAX_LENGTH:
        raise CommandError(
            f"account name {name!r} is invalid: use 1 to {NAME_MAX_LENGTH} characters"
        )


def _check_settings(args: argparse.Namespace) -> None:
    base_url = args.base_url
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise CommandError(f"--base-url {base_url!r} is invalid, expected an http(s):// URL")
    for option, value in (("--rpm", args.requests_per_minute), ("--tpm", args.tokens_per_minute)):
        if value is not None and value < 0:
            raise CommandError(f"{option} {value} is invalid. Use 0 for no limit, or more.")
    if args.max_concurrency is not None and args.max_concurrency < 1:
        raise CommandError(f"--concurrency {args.max_concurrency} is invalid. Use 1 or more.")
    if args.weight is not None and args.weight < 0:
        raise CommandError(f"--weight {args.weight} is invalid. Use 0 or more.")


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
    _check_settings(args)
    account = await _find(args.name)
    changes = _settings_of(args)
    if args.key_env or args.key_stdin:
        changes["api_key"] = _read_key(args)
        remember_secret(changes["api_key"])
    if not changes:
        raise CommandError("nothing to change. Pass at least one setting or key option.")
    await ChatGPTAccount.filter(id=account.id).update(**changes)
    sys.stdout.write(f"updated account {args.name!r}: {', '.join(sorted(changes))}\n")
    return 0


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
    outcome, ok = await probe_account(config_of(account), _TEST_TIMEOUT_S)
    sys.stdout.write(f"account {args.name!r} ({mask_secret(account.api_key)}): {outcome}\n")
    return 0 if ok else 1
