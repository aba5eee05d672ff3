"""Storage rules on SQLite and PostgreSQL: idempotent inserts, UTC datetimes, set-based queries."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from digester.drafts import PostDraft
from digester.ingest import ChannelConflictError, get_or_create_post, upsert_channel
from digester.models import Channel, Digest, DigestItem, Post, Summary, Tone
from digester.queries import bind_post_summaries, prepare_channel_targets
from tests.factories import add_subscribers, utc
from tests.sqlcount import count_statements


def _draft(message_id: int = 1) -> PostDraft:
    return PostDraft(
        channel_username="habr_com",
        channel_title="Хабр",
        message_id=message_id,
        text_html="<b>Новость</b> дня",
        published_at=utc(2024, 12, 1, 10),
    )


async def test_concurrent_get_or_create_post_one_row(database: str) -> None:
    channel = await upsert_channel("habr_com", "Хабр")

    results = await asyncio.gather(*(get_or_create_post(channel, _draft()) for _ in range(5)))

    assert await Post.filter(channel_id=channel.id).count() == 1
    assert len({post.id for post, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_channel_username_case_insensitive(database: str) -> None:
    first = await upsert_channel("@Habr_Com", "Хабр")
    second = await upsert_channel("habr_com", "Хабр")

    assert first.id == second.id
    assert first.username == "habr_com"
    assert await Channel.all().count() == 1


async def _post_with_summary(channel: Channel, tone: Tone) -> tuple[Post, Summary]:
    post, _ = await get_or_create_post(channel, _draft())
    summary = await Summary.create(post=post, tone=tone, text="Кратко: новость")
    return post, summary


async def test_digest_items_second_insert_no_op(database: str) -> None:
    channel = await upsert_channel("habr_com", "Хабр")
    brief = await Tone.get(code="brief")
    await add_subscribers(channel, [brief], 3)
    post, summary = await _post_with_summary(channel, brief)
    await prepare_channel_targets(channel.id, utc(2024, 12, 1, 11))

    first = await bind_post_summaries(channel.id, post.id, utc(2024, 12, 1, 11))
    second = await bind_post_summaries(channel.id, post.id, utc(2024, 12, 1, 12))

    assert first == 3
    assert second == 0
    assert await DigestItem.filter(summary_id=summary.id).count() == 3


async def test_digest_items_bulk_create_ignores_duplicates(database: str) -> None:
    channel = await upsert_channel("habr_com", "Хабр")
    brief = await Tone.get(code="brief")
    await add_subscribers(channel, [brief], 1)
    _, summary = await _post_with_summary(channel, brief)
    await prepare_channel_targets(channel.id, utc(2024, 12, 1, 11))
    digest = await Digest.get()

    for _ in range(2):
        await DigestItem.bulk_create(
            [DigestItem(digest_id=digest.id, summary_id=summary.id)], ignore_conflicts=True
        )

    assert await DigestItem.all().count() == 1


async def test_one_open_digest_per_reader(database: str) -> None:
    channel = await upsert_channel("habr_com", "Хабр")
    await add_subscribers(channel, [await Tone.get(code="brief")], 2)

    await asyncio.gather(
        *(prepare_channel_targets(channel.id, utc(2024, 12, 1)) for _ in range(4))
    )

    assert await Digest.all().count() == 2


async def test_naive_datetime_rejected(database: str) -> None:
    channel = await upsert_channel("habr_com", "Хабр")
    naive = datetime(2024, 12, 1, 10, 0)  # noqa: DTZ001 - the point of the test

    with pytest.raises(ValueError, match="naive datetime"):
        await Post.create(channel=channel, message_id=1, published_at=naive)

    assert await Post.all().count() == 0


async def test_aware_datetime_stored_as_utc(database: str) -> None:
    channel = await upsert_channel("habr_com", "Хабр")
    moscow = timezone(timedelta(hours=3))
    published = datetime(2024, 12, 1, 13, 0, tzinfo=moscow)

    await Post.create(channel=channel, message_id=1, published_at=published)
    stored = await Post.get(channel_id=channel.id, message_id=1)

    assert stored.published_at == published
    assert stored.published_at.utcoffset() == timedelta(0)
    assert stored.published_at.hour == 10


async def test_draft_without_zone_rejected() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        PostDraft(
            channel_username="habr_com",
            channel_title="Хабр",
            message_id=1,
            text_html="",
            published_at=datetime(2024, 12, 1),  # noqa: DTZ001 - the point of the test
        )


async def _statements_for_subscribers(count: int) -> int:
    channel = await upsert_channel(f"channel_{count}", "Канал")
    tones = await Tone.filter(code__in=["brief", "neutral", "ironic"]).order_by("id")
    await add_subscribers(channel, list(tones), count, first_id=count * 100_000)
    post, _ = await get_or_create_post(channel, _draft())
    await Summary.bulk_create([Summary(post=post, tone=tone, text="x") for tone in tones])
    now = utc(2024, 12, 1, 11)

    with count_statements() as counter:
        targets = await prepare_channel_targets(channel.id, now)
        bound = await bind_post_summaries(channel.id, post.id, now)

    assert sum(target.subscribers for target in targets) == count
    assert bound == count
    return counter.count


@pytest.mark.slow
async def test_channel_query_statements_constant(database: str) -> None:
    counts = {n: await _statements_for_subscribers(n) for n in (1, 100, 10_000)}

    assert counts[1] == counts[100]
    assert counts[100] == counts[10_000]
    assert counts[1] == 3


async def test_control_characters_stripped(database: str) -> None:
    channel = await upsert_channel("habr_com", "Хабр\x00")
    draft = PostDraft(
        "habr_com", "Хабр", 9, "a\x00b\x07c\nd", utc(2024, 12, 1), description="q\x1b"
    )

    post, _ = await get_or_create_post(channel, draft)

    assert post.text == "abc\nd"
    assert post.description == "q"
    assert channel.title == "Хабр"


async def test_username_of_other_channel_rejected(database: str) -> None:
    await upsert_channel("habr_com", "Хабр", telegram_id=1032086354)

    with pytest.raises(ChannelConflictError, match="habr_com"):
        await upsert_channel("habr_com", "Naked Science", telegram_id=1000724666)

    assert await Channel.all().count() == 1


async def test_channel_learns_username_later(database: str) -> None:
    first = await upsert_channel(None, "Naked Science", telegram_id=1000724666)

    second = await upsert_channel("naked_science", "Naked Science", telegram_id=1000724666)

    assert second.id == first.id
    assert (await Channel.get(id=first.id)).username == "naked_science"
