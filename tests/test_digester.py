"""The digester end to end on the shipped real posts, with the LLM stand-in behind the pool."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from digester.digests import open_digest_entries
from digester.html import visible_text
from digester.models import ChatGPTAccount, DigestItem, Post, Reader, Summary
from digester.pool import PoolPolicy
from digester.render import render_digest
from digester.rewriter import PostText, Rewriter
from tests.digest_helpers import (
    HABR,
    NAKED_SCIENCE,
    add_account,
    message_problems,
    replay_paths,
    squeeze,
    visible,
    web_pages,
)
from tests.standins.llm import LLMStandin

TONES = ("as_is", "brief", "ironic")
LATEST = 40


@pytest.fixture
async def llm() -> LLMStandin:
    async with LLMStandin() as server:
        yield server  # type: ignore[misc]


async def _replay_sample() -> None:
    await replay_paths(HABR, tones=TONES, channel="habr_com", latest=LATEST)
    await replay_paths(NAKED_SCIENCE, tones=TONES, latest=LATEST)
    await replay_paths(*web_pages(), tones=TONES)


async def _posts_with_text() -> int:
    return await Post.exclude(text="").count()


async def test_replay_one_summary_per_tone(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "first", "sk-first-000001")
    await add_account(llm, "second", "sk-second-00002")

    await _replay_sample()

    per_post = Counter(await Summary.all().values_list("post_id", flat=True))
    posts = await Post.all().values_list("id", flat=True)
    assert len(posts) >= 2 * LATEST
    assert set(per_post) == set(posts)
    assert set(per_post.values()) == {len(TONES)}
    assert len(llm.requests()) == await _posts_with_text() * 2
    assert await Summary.filter(is_original=False).count() == await _posts_with_text() * 2


async def test_replay_again_no_calls_no_rows(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "first", "sk-first-000001")
    await _replay_sample()
    calls = len(llm.requests())
    rows = (await Summary.all().count(), await DigestItem.all().count(), await Post.all().count())

    await _replay_sample()

    assert len(llm.requests()) == calls
    assert (
        await Summary.all().count(),
        await DigestItem.all().count(),
        await Post.all().count(),
    ) == rows


async def test_rendered_messages_valid_telegram_html(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "first", "sk-first-000001")

    await _replay_sample()

    for reader in await Reader.all():
        entries = await open_digest_entries(reader.id, reader.language)
        messages = render_digest(entries, language=reader.language)
        whole = render_digest(entries, language=reader.language, limit=10**9)
        assert messages
        assert message_problems(messages) == []
        assert len(whole) == 1
        assert visible(messages) == visible(whole)


async def test_long_habr_post_arrives_whole(database: str) -> None:
    result = await replay_paths(HABR, tones=("as_is",), channel="habr_com")

    longest = max(await Post.all(), key=lambda post: len(post.text))
    messages = result.digests["as_is"]
    assert len(longest.text) > 4096
    assert message_problems(messages) == []
    assert squeeze(visible_text(longest.text)) in visible(messages)


async def test_media_only_and_polls_described(database: str) -> None:
    result = await replay_paths(*web_pages(), tones=("as_is",))

    text = "\n".join(result.messages)
    media_only = await Post.filter(text="").exclude(media="")
    polls = await Post.filter(media__contains="poll")
    assert media_only
    assert polls
    for post in [*media_only, *polls]:
        assert post.link is not None
        assert post.link in text
    for poll in polls:
        assert squeeze(poll.description) in visible(result.messages)


@pytest.mark.parametrize(
    "outcome", ["empty", "refusal", "length", "wrong_language", "content_filter"]
)
async def test_invalid_output_taken_from_other_account(
    database: str, llm: LLMStandin, outcome: str
) -> None:
    await add_account(llm, "broken", "sk-broken-00001", script=[outcome] * 1000)
    await add_account(llm, "healthy", "sk-healthy-0001")

    await replay_paths(HABR, tones=("brief",), channel="habr_com", latest=10)

    assert await Summary.filter(is_original=True).count() == 0
    assert await Summary.filter(is_original=False).count() == 10
    healthy = {request.key for request in llm.requests() if request.status == 200}
    assert healthy <= {"sk-healthy-0001", "sk-broken-00001"}
    healthy_account = await ChatGPTAccount.get(name="healthy")
    accounts = {summary.account_id for summary in await Summary.all()}
    assert accounts == {healthy_account.id}


async def test_every_account_failing_falls_back(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "first", "sk-first-000001", fault_rate=1.0)
    await add_account(llm, "second", "sk-second-00002", script=["refusal"] * 1000)

    started = time.monotonic()
    result = await replay_paths(
        HABR, tones=("brief",), channel="habr_com", latest=10, llm_timeout_s=60.0
    )

    summaries = await Summary.all()
    # Rewrites wait for the breaker's first probes (5 s, then 10 s), never for their
    # 180 s deadline.
    policy = PoolPolicy()
    assert time.monotonic() - started < policy.breaker_base_s * (2**policy.breaker_wait_probes) + 3
    assert len(summaries) == 10
    assert all(summary.is_original for summary in summaries)
    assert await Post.filter(state="done").count() == 10
    assert len(result.digests["brief"]) >= 1


async def test_server_blip_loses_no_rewrite(database: str, llm: LLMStandin) -> None:
    # Three 500s in a row open the only account's breaker; the posts wait for its probe.
    await add_account(llm, "only", "sk-only-0000001", script=["server_error"] * 3)

    await replay_paths(HABR, tones=("brief",), channel="habr_com", latest=20)

    assert await Summary.filter(is_original=False).count() == 20
    assert await Summary.filter(is_original=True).count() == 0


async def test_rate_limit_on_only_account_waits(database: str, llm: LLMStandin) -> None:
    await add_account(llm, "only", "sk-only-0000001", script=["rate_limited:1"])

    await replay_paths(HABR, tones=("brief",), channel="habr_com", latest=10)

    assert await Summary.filter(is_original=False).count() == 10


async def test_no_account_delivers_as_written(database: str) -> None:
    result = await replay_paths(HABR, tones=("brief",), channel="habr_com", latest=5)

    summaries = await Summary.all()
    assert len(summaries) == 5
    assert {summary.fallback_reason for summary in summaries} == {"no_account"}
    assert result.fallbacks["no_account"] == 5
    assert result.digests["brief"]


def _export_with_every_format(path: Path) -> Path:
    pieces = [
        {"type": "bold", "text": "жирный"},
        {"type": "plain", "text": " и "},
        {"type": "italic", "text": "курсив"},
        {"type": "plain", "text": ", "},
        {"type": "underline", "text": "подчёркнутый"},
        {"type": "plain", "text": ", "},
        {"type": "strikethrough", "text": "зачёркнутый"},
        {"type": "plain", "text": ", "},
        {"type": "code", "text": "x < y && z"},
        {"type": "plain", "text": ", "},
        {"type": "spoiler", "text": "спойлер"},
        {"type": "plain", "text": ", "},
        {"type": "text_link", "text": "ссылка", "href": "https://example.org/a?b=1&c=2"},
        {"type": "plain", "text": "\n"},
        {"type": "pre", "text": "print('<hi>')", "language": "python"},
    ]
    message = {
        "id": 5, "type": "message", "date": "2024-12-01T10:00:00", "date_unixtime": "1733047200",
        "from": "Канал & <Ко>", "text": pieces, "text_entities": pieces,
    }  # fmt: skip
    export = {"name": "Канал & <Ко>", "type": "public_channel", "id": 42, "messages": [message]}
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return path


async def test_source_formatting_survives(database: str, tmp_path: Path) -> None:
    source = _export_with_every_format(tmp_path / "result.json")

    result = await replay_paths(source, tones=("as_is",), channel="format_test")

    message = "\n".join(result.digests["as_is"])
    assert message_problems(result.digests["as_is"]) == []
    assert "<b>жирный</b>" in message
    assert "<i>курсив</i>" in message
    assert "<u>подчёркнутый</u>" in message
    assert "<s>зачёркнутый</s>" in message
    assert "<code>x &lt; y &amp;&amp; z</code>" in message
    assert "<tg-spoiler>спойлер</tg-spoiler>" in message
    assert '<a href="https://example.org/a?b=1&amp;c=2">ссылка</a>' in message
    assert "<pre>" in message
    assert "print('&lt;hi&gt;')" in message
    assert "Канал &amp; &lt;Ко&gt;" in message
    assert "https://t.me/format_test/5" in message


class BrokenPool:
    """A pool with a bug: every request raises an error that is not a pool error."""

    def has_usable_account(self) -> bool:
        return True

    async def complete(self, request: object, validate: object = None) -> None:
        raise RuntimeError("selection failed")


async def test_pool_fault_delivers_original() -> None:
    rewriter = Rewriter(BrokenPool(), max_chars=500, max_attempts=3, deadline_s=5.0)  # type: ignore[arg-type]
    post = PostText(post_id=7, text_html="<b>Новость</b> дня")

    result = await rewriter.rewrite(post, "brief", "Перескажи кратко.")

    assert result.is_original
    assert result.fallback_reason == "error"
    assert result.text_html == post.text_html
    assert rewriter.fallbacks["error"] == 1


async def test_account_removed_mid_run_keeps_rewrites(database: str, llm: LLMStandin) -> None:
    removed = await add_account(llm, "removed", "sk-removed-00001", latency_s=0.5)
    remaining = await add_account(llm, "remaining", "sk-remaining-001", latency_s=0.5)
    replaying = asyncio.create_task(
        replay_paths(HABR, tones=("brief", "bullets"), channel="habr_com", latest=10)
    )
    while not llm.requests():  # noqa: ASYNC110 - the stand-in offers no event to wait on
        await asyncio.sleep(0.01)
    await ChatGPTAccount.filter(id=removed.id).delete()
    await replaying

    assert await Post.filter(state="done").count() == 10
    assert await Summary.filter(is_original=False).count() == 20
    assert len(llm.requests()) == 20
    assert await Summary.filter(account_id=remaining.id).count() == len(
        llm.requests(remaining.api_key)
    )
