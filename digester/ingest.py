"""Storing channel posts: every source turns its posts into ``PostDraft`` records stored here.

Inserts are idempotent and safe under concurrency: a post is unique per channel and message
id, a channel per username, and a second insert of either is a no-op.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from digester.drafts import PostDraft
from digester.models import Channel, Post, PostState, normalize_username
from digester.queries import fetch_rows

log = logging.getLogger(__name__)

POST_LINK_BASE = "https://t.me"
# C0 control characters other than tab and newline: PostgreSQL rejects NUL in text, and
# Telegram shows none of them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INSERT_BATCH_SIZE = 200


def post_link(username: str | None, message_id: int) -> str | None:
    """Return the public link of a post, or None when the channel has no username."""
    if not username:
        return None
    return f"{POST_LINK_BASE}/{username}/{message_id}"


class ChannelConflictError(ValueError):
    """A source names a channel whose username belongs to another Telegram channel."""


async def upsert_channel(
    username: str | None, title: str, *, telegram_id: int | None = None
) -> Channel:
    """Return the channel with this username or Telegram id, creating it when missing.

    A known channel learns a username or Telegram id it lacked. A username already bound to
    another Telegram id raises ``ChannelConflictError`` instead of mixing two channels.
    """
    if username is None and telegram_id is None:
        raise ValueError(f"channel {title!r} needs a username or a Telegram id")
    name = normalize_username(username) if username else None
    title = strip_control_characters(title).strip()[:255]
    await Channel.bulk_create(
        [Channel(username=name, title=title, telegram_id=telegram_id)], ignore_conflicts=True
    )
    by_name = await Channel.get_or_none(username=name) if name else None
    by_id = await Channel.get_or_none(telegram_id=telegram_id) if telegram_id else None
    _check_same_channel(by_name, by_id, name, telegram_id)
    channel = by_name or by_id
    if channel is None:
        raise ValueError(f"channel {name or telegram_id} was neither stored nor found")
    await _complete_channel(channel, name, title, telegram_id)
    return channel


def _check_same_channel(
    by_name: Channel | None, by_id: Channel | None, name: str | None, telegram_id: int | None
) -> None:
    other_id = by_name.telegram_id if by_name is not None else None
    if (by_name and by_id and by_name.id != by_id.id) or (
        other_id is not None and telegram_id is not None and other_id != telegram_id
    ):
        raise ChannelConflictError(
            f"username {name} belongs to the channel with Telegram id {other_id}, "
            f"not to {telegram_id}; check the --channel given for this source"
        )


async def _complete_channel(
    channel: Channel, name: str | None, title: str, telegram_id: int | None
) -> None:
    changed = []
    if title and channel.title != title:
        channel.title = title
        changed.append("title")
    if name and channel.username is None:
        channel.username = name
        changed.append("username")
    if telegram_id is not None and channel.telegram_id is None:
        channel.telegram_id = telegram_id
        changed.append("telegram_id")
    if changed:
        await channel.save(update_fields=[*changed, "updated_at"])


def strip_control_characters(text: str) -> str:
    """Return text without the control characters that databases or Telegram reject."""
    return CONTROL_CHARACTERS.sub("", text)


def _post_from_draft(channel: Channel, draft: PostDraft) -> Post:
    forwarded_from = draft.forwarded_from
    return Post(
        channel_id=channel.id,
        message_id=draft.message_id,
        text=strip_control_characters(draft.text_html),
        link=post_link(channel.username, draft.message_id),
        published_at=draft.published_at,
        edited_at=draft.edited_at,
        album_id=draft.album_id,
        media=",".join(draft.media),
        description=strip_control_characters(draft.description),
        forwarded_from=strip_control_characters(forwarded_from) if forwarded_from else None,
    )


async def get_or_create_post(channel: Channel, draft: PostDraft) -> tuple[Post, bool]:
    """Store one post unless it exists; return the row and whether this call created it."""
    row = _post_from_draft(channel, draft)
    sql = (
        "INSERT INTO post (channel_id, message_id, text, link, published_at, edited_at, "
        "album_id, media, description, forwarded_from, state, attempts, created_at, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12) "
        "ON CONFLICT (channel_id, message_id) DO NOTHING RETURNING id"
    )
    now = datetime.now(UTC)
    values = [
        channel.id, row.message_id, row.text, row.link, row.published_at, row.edited_at,
        row.album_id, row.media, row.description, row.forwarded_from, PostState.PENDING.value,
        now,
    ]  # fmt: skip
    inserted = await fetch_rows(sql, values)
    post = await Post.get(channel_id=channel.id, message_id=draft.message_id)
    return post, bool(inserted)


async def store_drafts(channel: Channel, drafts: Sequence[PostDraft]) -> list[int]:
    """Store the posts of one channel in batches and return the ids of posts not yet done.

    Posts already stored are left as they are; the returned ids are the ones the digester
    still has to process, in publication order.
    """
    message_ids = [draft.message_id for draft in drafts]
    for start in range(0, len(drafts), INSERT_BATCH_SIZE):
        batch = drafts[start : start + INSERT_BATCH_SIZE]
        rows = [_post_from_draft(channel, draft) for draft in batch]
        await Post.bulk_create(rows, ignore_conflicts=True)
    pending: list[int] = []
    for start in range(0, len(message_ids), INSERT_BATCH_SIZE):
        chunk = message_ids[start : start + INSERT_BATCH_SIZE]
        ids = await Post.filter(
            channel_id=channel.id, message_id__in=chunk, state=PostState.PENDING
        ).values("id")
        pending += [int(row["id"]) for row in ids]
    log.info(
        "posts stored channel_id=%d received=%d pending=%d", channel.id, len(drafts), len(pending)
    )
    return sorted(pending)
