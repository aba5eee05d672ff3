"""Source-independent records of channel posts, produced by every importer and parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PostDraft:
    """One channel post as a source delivered it, before it is stored.

    ``text_html`` is Telegram HTML that passes ``digester.html.check_telegram_html``; it is
    empty for a post without text (a photo without caption, a poll, a sticker).
    ``media`` lists the kinds of attachment in source order, from ``MEDIA_KINDS``.
    ``description`` is a short plain-text note for what has no rewritable text: the poll
    question, a file name; it is empty when the text covers everything.
    """

    channel_username: str | None
    channel_title: str
    message_id: int
    text_html: str
    published_at: datetime
    edited_at: datetime | None = None
    album_id: str | None = None
    media: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""
    forwarded_from: str | None = None

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None:
            raise ValueError(f"published_at of message {self.message_id} has no time zone")
        unknown = set(self.media) - MEDIA_KINDS
        if unknown:
            raise ValueError(f"unknown media kinds {sorted(unknown)} in message {self.message_id}")


MEDIA_KINDS = frozenset(
    {
        "photo",
        "video",
        "gif",
        "round_video",
        "voice",
        "audio",
        "document",
        "sticker",
        "poll",
        "link_preview",
        "location",
        "contact",
        "other",
    }
)


@dataclass(frozen=True, slots=True)
class SourcePosts:
    """The posts of one channel read from one source file or page."""

    channel_username: str | None
    channel_title: str
    channel_telegram_id: int | None
    drafts: tuple[PostDraft, ...]
