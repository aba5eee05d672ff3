"""The ``python -m digester`` command line, run as a user would run it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.digest_helpers import HABR, message_problems
from tests.standins.llm import LLMStandin

KEY = "sk-cli-interrupt-key-1234"


def _environment(cwd: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    environment["DATABASE_URL"] = f"sqlite://{cwd / 'default.sqlite3'}"
    return environment


def _digester(
    *arguments: str, cwd: Path, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digester", *arguments],
        cwd=cwd, env=_environment(cwd), capture_output=True, text=True, timeout=timeout_s,
    )  # fmt: skip


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_database_option_either_side(tmp_path: Path, before: bool) -> None:
    url = f"sqlite://{tmp_path / 'chosen.sqlite3'}"
    arguments = ["--database", url, "migrate"] if before else ["migrate", "--database", url]

    result = _digester(*arguments, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "chosen.sqlite3").exists()
    assert not (tmp_path / "default.sqlite3").exists()


def test_replay_json_stdout_only_array(tmp_path: Path) -> None:
    result = _digester(
        "replay", str(HABR), "--channel", "habr_com", "--latest", "3", "--json", cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    messages = json.loads(result.stdout)
    assert isinstance(messages, list)
    assert messages
    assert message_problems(messages) == []
    assert "delivered as written" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["replay", "missing.json"], "is not a file"),
        (["replay", str(HABR), "--tone", "shouty"], "unknown tone shouty"),
    ],
)
def test_replay_bad_input_clear_error(tmp_path: Path, arguments: list[str], expected: str) -> None:
    result = _digester(*arguments, cwd=tmp_path)

    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_non_database_file_fails_fast(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("this text file is not a SQLite database\n" * 20)

    started = time.monotonic()
    result = _digester("--database", f"sqlite://{text_file}", "accounts", "list", cwd=tmp_path,
                       timeout_s=60)  # fmt: skip
    elapsed_s = time.monotonic() - started

    errors = result.stderr.splitlines()
    assert result.returncode == 1
    assert len(errors) == 1
    assert f"database sqlite://{text_file} failed" in errors[0]
    assert "file is not a database" in errors[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert elapsed_s < 30


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "argument --latest: 'abc' is not a whole number. Use 1 or more."),
        ("0", "argument --latest: 0 is invalid. Use a whole number of 1 or more."),
    ],
)
def test_replay_latest_invalid_message(tmp_path: Path, value: str, expected: str) -> None:
    result = _digester("replay", str(HABR), "--latest", value, cwd=tmp_path)

    assert result.returncode == 2
    assert expected in result.stderr
    assert "_positive_int" not in result.stderr


async def test_interrupted_accounts_test_message(tmp_path: Path) -> None:
    async with LLMStandin() as llm:
        llm.add_key(KEY, script=["hang"])
        environment = _environment(tmp_path) | {"SLOW_KEY": KEY}
        add = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "digester", "accounts", "add", "slow", "--key-env", "SLOW_KEY",
            "--base-url", llm.base_url, cwd=tmp_path, env=environment,
        )  # fmt: skip
        assert await asyncio.wait_for(add.wait(), 60) == 0
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "digester", "accounts", "test", "slow",
            cwd=tmp_path, env=environment,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not llm.requests(KEY):
            assert time.monotonic() < deadline, "accounts test sent no request in 60 s"
            await asyncio.sleep(0.05)  # noqa: ASYNC110 - the stand-in offers no event to wait on

        probe.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(probe.communicate(), 30)

    errors = stderr.decode().splitlines()
    assert probe.returncode == 130
    assert errors[-1] == "interrupted"
    assert "posts" not in stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert stdout == b""
