"""Compiling a reader's open digest into the Telegram HTML messages it is sent as."""

from __future__ import annotations

from datetime import date

from digester.ingest import post_link
from digester.models import DigestItem
from digester.render import DigestEntry, render_digest

_ENTRY_FIELDS = {
    "channel_id": "summary__post__channel__id",
    "channel_title": "summary__post__channel__title",
    "channel_username": "summary__post__channel__username",
    "message_id": "summary__post__message_id",
    "published_at": "summary__post__published_at",
    "link": "summary__post__link",
    "media": "summary__post__media",
    "description": "summary__post__description",
    "text_html": "summary__text",
    "fallback_reason": "summary__fallback_reason",
    "tone_title_ru": "summary__tone__title_ru",
    "tone_title_en": "summary__tone__title_en",
}


async def open_digest_entries(reader_id: int, language: str) -> list[DigestEntry]:
    """Return the items of a reader's open digest in one query, ready for rendering."""
    rows = await DigestItem.filter(digest__open_for_reader=reader_id).values(**_ENTRY_FIELDS)
    return [_entry(row, language) for row in rows]


def _entry(row: dict[str, object], language: str) -> DigestEntry:
    media = str(row["media"] or "")
    username = str(row["channel_username"]) if row["channel_username"] else None
    message_id = int(str(row["message_id"]))
    # A channel may have learned its username after the post was stored.
    link = str(row["link"]) if row["link"] else post_link(username, message_id)
    return DigestEntry(
        channel_key=str(row["channel_id"]),
        channel_title=str(row["channel_title"] or ""),
        channel_username=username,
        message_id=message_id,
        published_at=row["published_at"],  # type: ignore[arg-type]
        text_html=str(row["text_html"] or ""),
        # Marked only where a rewrite was due and failed; "as is" and media-only posts are
        # originals by design.
        is_original=bool(row["fallback_reason"]),
        tone_title=str(row["tone_title_ru"] if language == "ru" else row["tone_title_en"]),
        media=tuple(kind for kind in media.split(",") if kind),
        description=str(row["description"] or ""),
        link=link,
    )


async def render_open_digest(
    reader_id: int, language: str, title_date: date | None = None
) -> list[str]:
    """Return a reader's open digest as Telegram HTML messages; empty when it has no items."""
    entries = await open_digest_entries(reader_id, language)
    return render_digest(entries, language=language, title_date=title_date)
