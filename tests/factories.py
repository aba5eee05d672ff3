"""Rows for tests and benchmarks, created in bulk."""

from __future__ import annotations

from datetime import UTC, datetime

from digester.models import Channel, Reader, Subscription, Tone


async def add_subscribers(
    channel: Channel, tones: list[Tone], count: int, first_id: int = 1
) -> None:
    """Create ``count`` active readers subscribed to the channel, tones assigned in turn."""
    readers = [
        Reader(telegram_user_id=first_id + n, chat_id=first_id + n, language="ru")
        for n in range(count)
    ]
    await Reader.bulk_create(readers, batch_size=1000)
    ids = (
        await Reader.filter(telegram_user_id__gte=first_id, telegram_user_id__lt=first_id + count)
        .order_by("id")
        .values_list("id", flat=True)
    )
    subscriptions = [
        Subscription(reader_id=reader_id, channel_id=channel.id, tone_id=tones[n % len(tones)].id)
        for n, reader_id in enumerate(ids)
    ]
    await Subscription.bulk_create(subscriptions, batch_size=1000)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
