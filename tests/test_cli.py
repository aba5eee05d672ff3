"""The ``python -m digester`` command line, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.digest_helpers import HABR, message_problems


def _digester(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    environment["DATABASE_URL"] = f"sqlite://{cwd / 'default.sqlite3'}"
    return subprocess.run(
        [sys.executable, "-m", "digester", *arguments],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=120,
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
