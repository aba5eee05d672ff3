"""Shared steps of the digester tests: settings for the stand-in, accounts, replays."""

from __future__ import annotations

import re
from pathlib import Path

from digester.html import check_telegram_html, utf16_len, visible_text
from digester.models import ChatGPTAccount
from digester.replay import ReplayOptions, ReplayResult, replay
from digester.settings import Settings, load_settings
from tests.standins.llm import LLMStandin

REPOSITORY = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).parent / "data"
HABR = DATA_DIR / "channel_exports" / "habr.json"
NAKED_SCIENCE = DATA_DIR / "channel_exports" / "naked_science.json"
WEB_PREVIEW_DIR = DATA_DIR / "web_preview"
MESSAGE_LIMIT = 4096


def quiet_settings(**overrides: object) -> Settings:
    """Settings that ignore the developer's .env and environment for the model account."""
    values: dict[str, object] = {
        "openai_api_key": None,
        "llm_timeout_s": 5.0,
        "digester_workers": 8,
    }
    values.update(overrides)
    return load_settings(env_file=None, **values)


async def add_account(llm: LLMStandin, name: str, key: str, **behaviour: object) -> ChatGPTAccount:
    """Register a key with the stand-in and an account that uses it."""
    llm.add_key(key, **behaviour)  # type: ignore[arg-type]
    return await ChatGPTAccount.create(
        name=name,
        api_key=key,
        base_url=llm.base_url,
        model="stand-in",
        max_concurrency=8,
        requests_per_minute=100_000,
        tokens_per_minute=100_000_000,
    )


async def replay_paths(
    *paths: Path,
    tones: tuple[str, ...],
    channel: str | None = None,
    latest: int | None = None,
    llm_timeout_s: float = 5.0,
) -> ReplayResult:
    options = ReplayOptions(paths=paths, channel_username=channel, tone_codes=tones, latest=latest)
    return await replay(quiet_settings(llm_timeout_s=llm_timeout_s), options)


def web_pages() -> list[Path]:
    return sorted(WEB_PREVIEW_DIR.glob("*.html"))


def message_problems(messages: list[str]) -> list[str]:
    """Return every reason a message would be refused by Telegram."""
    problems = []
    for number, message in enumerate(messages):
        problems += [f"message {number}: {p}" for p in check_telegram_html(message)]
        if utf16_len(message) > MESSAGE_LIMIT:
            problems.append(f"message {number}: {utf16_len(message)} UTF-16 units")
    return problems


def squeeze(text: str) -> str:
    """Return text with all white space removed, for comparisons across message cuts."""
    return re.sub(r"\s+", "", text)


def visible(messages: list[str]) -> str:
    return squeeze("".join(visible_text(message) for message in messages))
