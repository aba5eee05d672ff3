"""The ``accounts`` command: keys from the environment or standard input, masked output."""

from __future__ import annotations

import argparse
import io
from collections.abc import AsyncIterator

import pytest

from digester import accounts_cli
from digester.models import AccountState, ChatGPTAccount
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
