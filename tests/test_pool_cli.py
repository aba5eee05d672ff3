"""The ``accounts`` command: keys from the environment or standard input, masked output."""

from __future__ import annotations

import argparse
import io
from collections.abc import AsyncIterator

import pytest

from digester import accounts_cli
from digester.models import AccountState, ChatGPTAccount
from digester.pool import ENV_ACCOUNT_NAME, ensure_env_account
from digester.pool.account import AccountConfig
from digester.pool.client import probe_account
from digester.settings import load_settings
from tests.standins.llm import LLMStandin

KEY = "sk-cli-secret-key-12345678"


@pytest.fixture
async def llm() -> AsyncIterator[LLMStandin]:
    async with LLMStandin() as server:
        yield server


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    accounts_cli.register(commands)
    return parser.parse_args(["accounts", *argv])


async def run(*argv: str) -> int:
    return await accounts_cli.run(parse(*argv), "sqlite://:memory:")


async def test_add_reads_key_from_environment(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAM_KEY", KEY)

    code = await run(
        "add",
        "team",
        "--key-env",
        "TEAM_KEY",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "gpt-test",
        "--weight",
        "2",
        "--rpm",
        "60",
        "--tpm",
        "9000",
        "--concurrency",
        "3",
    )

    row = await ChatGPTAccount.get(name="team")
    output = capsys.readouterr().out
    assert code == 0
    assert row.api_key == KEY
    assert row.base_url == "http://127.0.0.1:9/v1"
    assert row.model == "gpt-test"
    assert row.weight == 2.0
    assert (row.requests_per_minute, row.tokens_per_minute, row.max_concurrency) == (60, 9000, 3)
    assert KEY not in output
    assert "sk-…5678" in output


async def test_add_reads_key_from_stdin(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{KEY}\n"))

    code = await run("add", "piped", "--key-stdin")

    assert code == 0
    assert (await ChatGPTAccount.get(name="piped")).api_key == KEY
    assert KEY not in capsys.readouterr().out


def test_add_rejects_key_argument() -> None:
    with pytest.raises(SystemExit):
        parse("add", "team", KEY)


async def test_add_without_key_fails(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    code = await run("add", "team")

    assert code == 1
    assert "OPENAI_API_KEY is not set" in capsys.readouterr().err
    assert await ChatGPTAccount.all().count() == 0


async def test_add_duplicate_name_fails(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    await run("add", "team")

    code = await run("add", "team")

    assert code == 1
    assert "'team' already exists" in capsys.readouterr().err


async def test_add_invalid_limits_fail(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)

    assert await run("add", "team", "--concurrency", "0") == 1
    assert await run("add", "team", "--base-url", "127.0.0.1:9") == 1
    errors = capsys.readouterr().err
    assert "--concurrency 0 is invalid" in errors
    assert "expected an http(s):// URL" in errors


async def test_list_masks_keys(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    await run("add", "team")
    await ChatGPTAccount.filter(name="team").update(
        requests_total=12, failures_total=3, state=AccountState.COOLING
    )
    capsys.readouterr()

    code = await run("list")

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].split()[:5] == ["id", "name", "key", "model", "state"]
    assert "team" in lines[1]
    assert "sk-…5678" in lines[1]
    assert "cooling" in lines[1]
    assert " 12 " in lines[1]
    assert KEY not in "\n".join(lines)


async def test_disable_enable_remove(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    await run("add", "team")
    await ChatGPTAccount.filter(name="team").update(consecutive_failures=4)

    assert await run("disable", "team") == 0
    disabled = await ChatGPTAccount.get(name="team")
    assert await run("enable", "team") == 0
    enabled = await ChatGPTAccount.get(name="team")
    assert await run("edit", "team", "--rpm", "30", "--concurrency", "2") == 0
    edited = await ChatGPTAccount.get(name="team")
    assert await run("remove", "team") == 0

    assert disabled.state is AccountState.DISABLED
    assert enabled.state is AccountState.ACTIVE
    assert enabled.consecutive_failures == 0
    assert enabled.cooldown_until is None
    assert (edited.requests_per_minute, edited.max_concurrency) == (30, 2)
    assert await ChatGPTAccount.all().count() == 0


async def test_unknown_name_fails(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("enable", "disable", "remove", "test"):
        assert await run(action, "ghost") == 1

    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 4
    assert all("account 'ghost' not found" in line for line in errors)


async def test_test_reports_outcome(
    database: str, llm: LLMStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    llm.add_key(KEY)
    for name, key in (("good", KEY), ("revoked", "sk-cli-revoked-key-0000001")):
        await ChatGPTAccount.create(name=name, api_key=key, base_url=llm.base_url, model="m")

    good = await run("test", "good")
    revoked = await run("test", "revoked")

    output = capsys.readouterr().out
    assert good == 0
    assert revoked == 1
    assert "ok in" in output
    assert "failed (auth)" in output
    assert "sk-cli-revoked-key-0000001" not in output
    assert [request.max_tokens for request in llm.requests()] == [1, 1]
    assert (await ChatGPTAccount.get(name="revoked")).state is AccountState.ACTIVE


async def test_edit_replaces_key_from_environment(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    await run("add", "team")
    monkeypatch.setenv("NEW_KEY", "sk-cli-rotated-key-87654321")

    code = await run("edit", "team", "--key-env", "NEW_KEY")

    assert code == 0
    assert (await ChatGPTAccount.get(name="team")).api_key == "sk-cli-rotated-key-87654321"
    assert "sk-cli-rotated-key-87654321" not in capsys.readouterr().out


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
async def test_add_rejects_invalid_name(
    database: str, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-valid-name-test-0001")
    parser = argparse.ArgumentParser()
    accounts_cli.register(parser.add_subparsers(dest="command"))

    args = parser.parse_args(["accounts", "add", name])

    with pytest.raises(accounts_cli.CommandError, match="name"):
        await accounts_cli._add(args)
    assert await ChatGPTAccount.all().count() == 0


async def _add_team(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert await run("add", "team", "--tpm", "0") == 0


async def _rejected_on_add_and_edit(
    capsys: pytest.CaptureFixture[str], *options: str
) -> list[str]:
    """Run add and edit with ``options``, check that both fail, and return their errors."""
    added = await run("add", "other", *options)
    edited = await run("edit", "team", *options)

    errors = capsys.readouterr().err.splitlines()
    assert added == 1
    assert edited == 1
    assert len(errors) == 2
    return errors


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "1000.5", "-1"])
async def test_weight_out_of_range_fails(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    await _add_team(monkeypatch)
    capsys.readouterr()

    errors = await _rejected_on_add_and_edit(capsys, f"--weight={value}")

    assert all("--weight" in line for line in errors)
    assert all("from 0 to 1000" in line for line in errors)
    assert not any("already exists" in line for line in errors)
    assert await ChatGPTAccount.filter(name="other").count() == 0
    assert (await ChatGPTAccount.get(name="team")).weight == 1.0


async def test_weight_bounds_accepted(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await _add_team(monkeypatch)

    assert await run("edit", "team", "--weight", "1000") == 0
    heaviest = await ChatGPTAccount.get(name="team")
    assert await run("edit", "team", "--weight", "0") == 0
    lightest = await ChatGPTAccount.get(name="team")

    assert heaviest.weight == 1000.0
    assert lightest.weight == 0.0


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--rpm", "999999999999999999999", "Use 0 for no limit, or a whole number up to"),
        ("--tpm", "2147483648", "Use 0 for no limit, or a whole number up to"),
        ("--tpm", "-1", "Use 0 for no limit, or a whole number up to"),
        ("--concurrency", "9223372036854775808", "Use a whole number from 1 to 2147483647"),
        ("--concurrency", "0", "Use a whole number from 1 to 2147483647"),
    ],
)
async def test_limit_out_of_range_fails(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    expected: str,
) -> None:
    await _add_team(monkeypatch)
    capsys.readouterr()

    errors = await _rejected_on_add_and_edit(capsys, option, value)

    assert all(f"{option} {value} is invalid" in line for line in errors)
    assert all(expected in line for line in errors)
    assert await ChatGPTAccount.filter(name="other").count() == 0


async def test_limit_bounds_accepted(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    biggest = str(accounts_cli.LIMIT_MAX)

    code = await run("add", "big", "--rpm", biggest, "--tpm", biggest, "--concurrency", biggest)
    unlimited = await run("add", "free", "--rpm", "0", "--tpm", "0")

    big = await ChatGPTAccount.get(name="big")
    free = await ChatGPTAccount.get(name="free")
    assert code == 0
    assert unlimited == 0
    assert (big.requests_per_minute, big.tokens_per_minute) == (2**31 - 1, 2**31 - 1)
    assert big.max_concurrency == 2**31 - 1
    assert (free.requests_per_minute, free.tokens_per_minute) == (0, 0)
    assert "warning" not in capsys.readouterr().err


async def test_tpm_below_rewrite_warns(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)

    added = await run("add", "tight", "--tpm", "100")
    add_errors = capsys.readouterr().err.splitlines()
    edited = await run("edit", "tight", "--tpm", "200")
    edit_errors = capsys.readouterr().err.splitlines()
    roomy = await run("edit", "tight", "--tpm", "200000")
    roomy_errors = capsys.readouterr().err

    assert added == 0
    assert edited == 0
    assert roomy == 0
    assert (await ChatGPTAccount.get(name="tight")).tokens_per_minute == 200_000
    assert len(add_errors) == 1
    assert "warning: --tpm 100 is below" in add_errors[0]
    assert "rejects every rewrite" in add_errors[0]
    assert len(edit_errors) == 1
    assert "warning: --tpm 200 is below" in edit_errors[0]
    assert roomy_errors == ""


BAD_BASE_URLS = [
    "http://",
    "https://exa mple.com/v1",
    "http://127.0.0.1:99999/v1",
    "http://127.0.0.1:0/v1",
    "http://[::1/v1",
    "http://[not-ipv6]/v1",
    "https://user:hunter2@example.com/v1",
    "ftp://example.com/v1",
    "https://example.com/v1?api-version=1",
    "https://exa\tmple.com/v1",
    "https://example.com/" + "v" * 236,
]


@pytest.mark.parametrize("url", BAD_BASE_URLS)
async def test_bad_base_url_fails(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    await _add_team(monkeypatch)
    capsys.readouterr()

    errors = await _rejected_on_add_and_edit(capsys, "--base-url", url)

    assert all("--base-url" in line for line in errors)
    assert all("is invalid" in line for line in errors)
    assert "hunter2" not in "\n".join(errors)
    assert await ChatGPTAccount.filter(name="other").count() == 0
    assert (await ChatGPTAccount.get(name="team")).base_url == "https://api.openai.com/v1"


async def test_good_base_url_normalised(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    longest = "https://example.com/" + "v" * 235

    upper = await run("add", "upper", "--base-url", "HTTP://Example.com:8080/v1")
    ipv6 = await run("add", "ipv6", "--base-url", "http://[::1]:8080/v1")
    long = await run("add", "long", "--base-url", longest)

    assert (upper, ipv6, long) == (0, 0, 0)
    assert (await ChatGPTAccount.get(name="upper")).base_url == "http://Example.com:8080/v1"
    assert (await ChatGPTAccount.get(name="ipv6")).base_url == "http://[::1]:8080/v1"
    assert (await ChatGPTAccount.get(name="long")).base_url == longest


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/v1", "http://[::1/v1"])
async def test_test_stored_bad_url_fails(
    database: str, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    await ChatGPTAccount.create(name="old", api_key=KEY, base_url=url, model="m")

    code = await run("test", "old")

    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert code == 1
    assert captured.out == ""
    assert len(errors) == 1
    assert "invalid base URL" in errors[0]
    assert "accounts edit old --base-url URL" in errors[0]


@pytest.mark.parametrize(
    ("base_url", "key", "expected"),
    [
        ("http://127.0.0.1:99999/v1", KEY, "OverflowError"),
        ("http://[::1/v1", KEY, "InvalidURL"),
        ("http://127.0.0.1:9/v1", "sk-cli-sécret-key-12345678", "UnicodeEncodeError"),
    ],
)
async def test_probe_client_error_one_line(base_url: str, key: str, expected: str) -> None:
    config = AccountConfig("old", key, base_url, "m", 1.0, 0, 0, 1)

    outcome, ok = await probe_account(config, timeout_s=5.0)

    assert not ok
    assert outcome.startswith(f"failed (client error): {expected}")
    assert "\n" not in outcome
    assert key not in outcome


@pytest.mark.parametrize("model", ["", "   ", "\t"])
async def test_empty_model_fails(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], model: str
) -> None:
    await _add_team(monkeypatch)
    capsys.readouterr()

    errors = await _rejected_on_add_and_edit(capsys, "--model", model)

    assert all("--model" in line for line in errors)
    assert all("is invalid because it is empty" in line for line in errors)
    assert (await ChatGPTAccount.get(name="team")).model == "gpt-4o-mini"


BAD_KEYS = [
    ("sk-cli secret-key-1234", "whitespace"),
    ("sk-cli\x1bsecret-key-1234", "control character"),
    ("sk-cli-sécret-key-1234", "non-ASCII"),
    ("sk-cli\\secret-key-1234", "backslash or quote"),
    ('sk-cli"secret-key-1234', "backslash or quote"),
    ("sk-cli'secret-key-1234", "backslash or quote"),
    ("sk-1234", "fewer than 8"),
]


@pytest.mark.parametrize(("key", "problem"), BAD_KEYS)
async def test_bad_key_fails_unprinted(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str,
    problem: str,
) -> None:
    await _add_team(monkeypatch)
    monkeypatch.setenv("BAD_KEY", key)
    capsys.readouterr()

    added = await run("add", "other", "--key-env", "BAD_KEY")
    edited = await run("edit", "team", "--key-env", "BAD_KEY")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{key}\n"))
    piped = await run("add", "piped", "--key-stdin")

    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert (added, edited, piped) == (1, 1, 1)
    assert len(errors) == 3
    assert all("API key from" in line for line in errors)
    assert all(problem in line for line in errors)
    assert key not in captured.err
    assert key not in captured.out
    assert await ChatGPTAccount.filter(name__in=["other", "piped"]).count() == 0
    assert (await ChatGPTAccount.get(name="team")).api_key == KEY


async def test_key_punctuation_accepted(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROXY_KEY", "sk-proj_Ab.cd-12/34+5=:")

    code = await run("add", "proxy", "--key-env", "PROXY_KEY")

    assert code == 0
    assert (await ChatGPTAccount.get(name="proxy")).api_key == "sk-proj_Ab.cd-12/34+5=:"


async def test_test_stored_bad_key_fails(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "sk-cli-sécret-key-12345678"
    await ChatGPTAccount.create(name="old", api_key=key, base_url="http://127.0.0.1:9/v1")

    code = await run("test", "old")

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "invalid API key because it contains a non-ASCII character" in captured.err
    assert key not in captured.err


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a\nb", "control character"),
        ("team\x1b[31m", "control character"),
        ("tab\tname", "control character"),
        ("zero\u200bwidth", "control character"),
        (" main", "starts or ends with whitespace"),
        ("main ", "starts or ends with whitespace"),
    ],
)
async def test_bad_name_fails(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    problem: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)

    code = await run("add", name)

    errors = capsys.readouterr().err.splitlines()
    assert code == 1
    assert len(errors) == 1
    assert problem in errors[0]
    assert await ChatGPTAccount.all().count() == 0


async def test_unicode_name_accepted(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)

    code = await run("add", "Команда А")

    assert code == 0
    assert await ChatGPTAccount.filter(name="Команда А").count() == 1


@pytest.mark.parametrize(
    ("outcome", "expected_code", "expected"),
    [
        ("empty", 1, "failed (output): empty output"),
        ("content_filter", 1, "failed (output): output withheld by the content filter"),
        ("length", 0, "ok in"),
    ],
)
async def test_test_checks_reply(
    database: str,
    llm: LLMStandin,
    capsys: pytest.CaptureFixture[str],
    outcome: str,
    expected_code: int,
    expected: str,
) -> None:
    llm.add_key(KEY, script=[outcome])
    await ChatGPTAccount.create(name="team", api_key=KEY, base_url=llm.base_url, model="m")

    code = await run("test", "team")

    output = capsys.readouterr().out
    assert code == expected_code
    assert expected in output
    assert KEY not in output


async def test_edit_env_account_warns(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await _add_team(monkeypatch)
    await ChatGPTAccount.create(name=ENV_ACCOUNT_NAME, api_key=KEY)
    capsys.readouterr()

    env_code = await run("edit", ENV_ACCOUNT_NAME, "--model", "edited", "--weight", "3")
    env_errors = capsys.readouterr().err.splitlines()
    team_code = await run("edit", "team", "--model", "edited")
    team_errors = capsys.readouterr().err
    await ensure_env_account(load_settings(env_file=None, openai_api_key=KEY))
    reset = await ChatGPTAccount.get(name=ENV_ACCOUNT_NAME)

    assert env_code == 0
    assert team_code == 0
    assert len(env_errors) == 1
    assert "warning: account 'env'" in env_errors[0]
    assert "OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL" in env_errors[0]
    assert "resets its key, base URL and model" in env_errors[0]
    assert "weight and limits are kept" in env_errors[0]
    assert team_errors == ""
    assert reset.model == "gpt-4o-mini"
    assert reset.weight == 3.0


async def test_add_env_account_warns(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)

    code = await run("add", ENV_ACCOUNT_NAME)

    errors = capsys.readouterr().err.splitlines()
    assert code == 0
    assert len(errors) == 1
    assert "warning: account 'env'" in errors[0]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (AccountState.DISABLED, "stays disabled. Run `accounts enable team`"),
        (AccountState.PARKED, "stays parked until a billing probe succeeds"),
    ],
)
async def test_new_key_keeps_state(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    state: AccountState,
    expected: str,
) -> None:
    await _add_team(monkeypatch)
    await ChatGPTAccount.filter(name="team").update(state=state)
    monkeypatch.setenv("NEW_KEY", "sk-cli-rotated-key-87654321")
    capsys.readouterr()

    code = await run("edit", "team", "--key-env", "NEW_KEY")

    output = capsys.readouterr().out
    row = await ChatGPTAccount.get(name="team")
    assert code == 0
    assert expected in output
    assert "accounts enable team" in output
    assert row.state is state
    assert row.api_key == "sk-cli-rotated-key-87654321"


async def test_new_key_active_no_note(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await _add_team(monkeypatch)
    monkeypatch.setenv("NEW_KEY", "sk-cli-rotated-key-87654321")
    capsys.readouterr()

    code = await run("edit", "team", "--key-env", "NEW_KEY")

    output = capsys.readouterr().out.splitlines()
    assert code == 0
    assert output == ["updated account 'team': api_key"]
