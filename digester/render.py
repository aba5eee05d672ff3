"""Rendering of a reader's digest as Telegram HTML messages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from digester.html import (
    MESSAGE_LIMIT,
    check_telegram_html,
    escape_html,
    is_allowed_url,
    sanitize_html,
    split_html,
    utf16_len,
    visible_text,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One post of a digest, as the reader should see it.

    ``text_html`` is valid Telegram HTML (the rewrite or the original post), "" for a
    media-only post. ``media`` lists attachment kinds from ``digester.drafts.MEDIA_KINDS``.
    ``description`` is plain text such as a poll question or a file name. ``link`` is the
    post's https://t.me/<username>/<message_id> URL when the username is known.
    """

    channel_key: str
    channel_title: str
    channel_username: str | None
    message_id: int
    published_at: datetime
    text_html: str
    is_original: bool
    tone_title: str
    media: tuple[str, ...]
    description: str
    link: str | None


@dataclass(frozen=True, slots=True)
class _Texts:
    """Interface strings of one language."""

    digest: str
    digest_for: str
    months: tuple[str, ...]
    count_posts: Callable[[int], str]
    open_post: str
    as_written: str
    no_text: str
    media: Mapping[str, str]


def _count_posts_ru(count: int) -> str:
    if count % 10 == 1 and count % 100 != 11:
        return f"{count} пост"
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return f"{count} поста"
    return f"{count} постов"


def _count_posts_en(count: int) -> str:
    return f"{count} post" if count == 1 else f"{count} posts"


_RU_MONTHS = (
    *("января", "февраля", "марта", "апреля", "мая", "июня"),
    *("июля", "августа", "сентября", "октября", "ноября", "декабря"),
)
_EN_MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)

_TEXTS = {
    "ru": _Texts(
        digest="Дайджест",
        digest_for="Дайджест за {date}",
        months=_RU_MONTHS,
        count_posts=_count_posts_ru,
        open_post="Открыть пост",
        as_written="без пересказа",
        no_text="Пост без текста",
        media={
            "photo": "📷 Фото",
            "video": "🎬 Видео",
            "gif": "🎞 GIF",
            "round_video": "📹 Видеосообщение",
            "voice": "🎙 Голосовое сообщение",
            "audio": "🎵 Аудио",
            "document": "📎 Файл",
            "sticker": "🖼 Стикер",
            "poll": "📊 Опрос",
            "link_preview": "🔗 Ссылка",
            "location": "📍 Геопозиция",
            "contact": "👤 Контакт",
            "other": "📦 Вложение",
        },
    ),
    "en": _Texts(
        digest="Digest",
        digest_for="Digest for {date}",
        months=_EN_MONTHS,
        count_posts=_count_posts_en,
        open_post="Open post",
        as_written="not rewritten",
        no_text="Post without text",
        media={
            "photo": "📷 Photo",
            "video": "🎬 Video",
            "gif": "🎞 GIF",
            "round_video": "📹 Video message",
            "voice": "🎙 Voice message",
            "audio": "🎵 Audio",
            "document": "📎 File",
            "sticker": "🖼 Sticker",
            "poll": "📊 Poll",
            "link_preview": "🔗 Link",
            "location": "📍 Location",
            "contact": "👤 Contact",
            "other": "📦 Attachment",
        },
    ),
}


def render_digest(
    entries: Sequence[DigestEntry],
    *,
    language: str = "ru",
    title_date: date | None = None,
    limit: int = MESSAGE_LIMIT,
) -> list[str]:
    """Render entries as Telegram HTML messages of at most ``limit`` UTF-16 units each.

    The first message starts with a header. Posts are grouped by channel, groups ordered by
    their earliest post and posts by time. Messages break between posts, and a post longer
    than a message is split with ``split_html`` and goes on in the next messages. Nothing is
    repeated across a cut, so the messages read together show exactly the unsplit text. An
    entry marked ``is_original`` gets a short "not rewritten" note by its link. Languages are
    "ru" and "en", and any other gets English.
    Raises ValueError when ``limit`` leaves no room for a channel title and some text.
    """
    if not entries:
        return []
    texts = _TEXTS.get(language.lower().replace("_", "-").split("-")[0], _TEXTS["en"])
    writer = _MessageWriter(limit, _render_header(entries, title_date, texts))
    for group in _group_by_channel(entries):
        heading = _render_channel_title(group[-1])
        for index, entry in enumerate(group):
            writer.add_item(_render_item(entry, texts), heading if index == 0 else None)
    return writer.finish()


def _group_by_channel(entries: Sequence[DigestEntry]) -> list[list[DigestEntry]]:
    """Group entries by channel, sorted by time inside a group and by earliest post across."""
    groups: dict[str, list[DigestEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.channel_key, []).append(entry)
    ordered = [
        sorted(group, key=lambda e: (e.published_at, e.message_id)) for group in groups.values()
    ]
    ordered.sort(key=lambda group: group[0].published_at)
    return ordered


def _render_header(entries: Sequence[DigestEntry], title_date: date | None, texts: _Texts) -> str:
    """Render the bold digest title and a line with the post count and the shared tone."""
    if title_date is None:
        title = texts.digest
    else:
        day = f"{title_date.day} {texts.months[title_date.month - 1]}"
        title = texts.digest_for.format(date=day)
    summary = texts.count_posts(len(entries))
    tones = {entry.tone_title.strip() for entry in entries}
    if len(tones) == 1 and "" not in tones:
        summary = f"{summary} · {tones.pop()}"
    return f"<b>{escape_html(title)}</b>\n{escape_html(summary)}"


def _render_channel_title(entry: DigestEntry, suffix: str = "") -> str:
    """Render the bold channel title, linked to https://t.me/<username> when it is known."""
    title = escape_html(entry.channel_title.strip() or entry.channel_username or entry.channel_key)
    username = (entry.channel_username or "").strip().lstrip("@")
    if username:
        url = f"https://t.me/{quote(username, safe='')}"
        title = f'<a href="{escape_html(url)}">{title}</a>'
    return f"<b>{title}{escape_html(suffix)}</b>"


def _render_item(entry: DigestEntry, texts: _Texts) -> str:
    """Render one post: a media note, the text and a link to the original."""
    text = _usable_text(entry.text_html)
    note = _media_note(entry, texts, has_text=bool(text))
    lines = [line for line in (note, text) if line] or [escape_html(texts.no_text)]
    footer = []
    if entry.link and is_allowed_url(entry.link):
        footer.append(f'<a href="{escape_html(entry.link)}">{escape_html(texts.open_post)}</a>')
    if entry.is_original:
        footer.append(f"<i>{escape_html(texts.as_written)}</i>")
    if footer:
        lines.append(" · ".join(footer))
    return "\n".join(lines)


def _usable_text(text_html: str) -> str:
    """Return the post text, "" when nothing of it is visible, sanitized when it is invalid."""
    if not visible_text(text_html).strip():
        return ""
    if check_telegram_html(text_html):
        # NOTE: callers promise valid HTML. This keeps one invalid post from making Telegram
        # reject the whole message.
        return sanitize_html(text_html)
    return text_html.strip()


def _media_note(entry: DigestEntry, texts: _Texts, *, has_text: bool) -> str:
    """Describe the attachments and ``description``, such as "📊 Опрос: <question>"."""
    counts: dict[str, int] = {}
    for kind in entry.media:
        if not (has_text and kind == "link_preview"):
            label = texts.media.get(kind, texts.media["other"])
            counts[label] = counts.get(label, 0) + 1
    labels = [label if count == 1 else f"{label} ×{count}" for label, count in counts.items()]
    note = escape_html(" · ".join(labels))
    description = escape_html(" ".join(entry.description.split()))
    if note and description:
        return f"{note}: {description}"
    return note or description


class _MessageWriter:
    """Messages filled in order: an item joins the last message while it fits."""

    def __init__(self, limit: int, header: str) -> None:
        self.limit = limit
        self.messages: list[str] = []
        self.current = header
        self.has_items = False

    def add_item(self, item: str, heading: str | None) -> None:
        """Add an item, under ``heading`` when it opens a channel's group."""
        if self._fits(self._join(self.current, _lines(heading, item))):
            self.current = self._join(self.current, _lines(heading, item))
        elif self.has_items and self._fits(_lines(heading, item)):
            self._start(_lines(heading, item))
        else:
            self._add_split_item(item, heading)
        self.has_items = True

    def _add_split_item(self, item: str, heading: str | None) -> None:
        """Add an item too long for one message, continued in the next ones."""
        prefix = self._join(self.current, _lines(heading, ""))
        if self.limit - utf16_len(prefix) < self.limit // 4:
            self._start("")
            prefix = _lines(heading, "")
        parts = _split_item(item, self.limit, self.limit - utf16_len(prefix))
        self.current = prefix + parts[0]
        for part in parts[1:]:
            self._start(part)

    def _fits(self, html: str) -> bool:
        return utf16_len(html) <= self.limit

    @staticmethod
    def _join(message: str, block: str) -> str:
        return f"{message}\n\n{block}" if message else block

    def _start(self, html: str) -> None:
        if self.current:
            self.messages.append(self.current)
        self.current = html

    def finish(self) -> list[str]:
        """Return all messages, the last one included."""
        self._start("")
        return self.messages


def _lines(heading: str | None, body: str) -> str:
    """Return ``body`` under ``heading`` on a line of its own, or ``body`` alone without one."""
    return body if heading is None else f"{heading}\n{body}"


def _split_item(item: str, limit: int, first_limit: int) -> list[str]:
    """Split an item's HTML, or its plain text when an entity is too long to fit any part."""
    try:
        return split_html(item, limit, first_limit=first_limit)
    except ValueError as exc:
        log.warning("digest item split as plain text error=%s", exc)
        return split_html(escape_html(visible_text(item)), limit, first_limit=first_limit)
