"""Text of Telegram Desktop export messages, read as typed pieces and rendered as Telegram HTML."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from digester.html import escape_html, is_allowed_url
from parser._export_fields import MalformedMessageError, read_int, read_str

# Language names that Telegram accepts in <code class="language-NAME">.
_LANGUAGE_PATTERN = re.compile(r"[A-Za-z0-9_+#.-]+")

_TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "spoiler": "tg-spoiler",
    "code": "code",
    "blockquote": "blockquote",
}


@dataclass(frozen=True, slots=True)
class TextPiece:
    """A run of message text with one entity type, such as ``plain``, ``bold`` or ``text_link``."""

    kind: str
    text: str
    href: str | None = None
    language: str | None = None
    user_id: int | None = None


def parse_text_pieces(text: object, entities: object) -> list[TextPiece]:
    """Read a message's text, preferring ``text_entities`` over the older mixed ``text`` list."""
    if entities is not None and not isinstance(entities, list):
        raise MalformedMessageError(f"text_entities is {type(entities).__name__}, expected a list")
    if entities:
        return [_parse_entity(item, "text_entities") for item in entities]
    if text is None:
        return []
    if isinstance(text, str):
        return [TextPiece("plain", text)]
    if isinstance(text, list):
        return [_parse_text_item(item) for item in text]
    raise MalformedMessageError(f"text is {type(text).__name__}, expected a string or a list")


def render_pieces(pieces: Iterable[TextPiece]) -> str:
    """Render text pieces as Telegram HTML with every text and attribute escaped."""
    return "".join(_render_piece(piece) for piece in pieces)


def joined_text(pieces: Iterable[TextPiece]) -> str:
    """Return the plain text of the pieces."""
    return "".join(piece.text for piece in pieces)


def _parse_text_item(item: object) -> TextPiece:
    """Read one item of the ``text`` list, which is a plain string or an entity object."""
    if isinstance(item, str):
        return TextPiece("plain", item)
    return _parse_entity(item, "text")


def _parse_entity(item: object, field_name: str) -> TextPiece:
    """Read one entity object such as ``{"type": "text_link", "text": ..., "href": ...}``."""
    if not isinstance(item, dict):
        raise MalformedMessageError(f"{field_name} has an item of type {type(item).__name__}")
    kind = read_str(item, "type") or "plain"
    text = read_str(item, "text")
    if text is None:
        raise MalformedMessageError(f"{field_name} has a {kind} entity without text")
    user_id = read_int(item, "user_id") if item.get("user_id") is not None else None
    return TextPiece(kind, text, read_str(item, "href"), read_str(item, "language"), user_id)


def _render_piece(piece: TextPiece) -> str:
    """Render one piece, falling back to escaped plain text when it lacks what its tag needs."""
    text = escape_html(piece.text)
    if not text:
        return ""
    tag = _TAGS.get(piece.kind)
    if tag is not None:
        return f"<{tag}>{text}</{tag}>"
    if piece.kind == "pre":
        return _render_pre(text, piece.language)
    if piece.kind == "text_link" and piece.href and is_allowed_url(piece.href):
        return _render_link(text, piece.href)
    if piece.kind == "mention_name" and piece.user_id is not None:
        return _render_link(text, f"tg://user?id={piece.user_id}")
    # Telegram finds links, mentions, hashtags, e-mails and phone numbers again in every message
    # it receives, so they stay plain text, like unknown types. A custom_emoji piece also stays
    # plain text, its fallback emoji, because the Bot API lets only bots with a username bought
    # on Fragment send custom emoji.
    return text


def _render_pre(text: str, language: str | None) -> str:
    """Render a preformatted block, dropping a language name that Telegram would reject."""
    if not language or not _LANGUAGE_PATTERN.fullmatch(language):
        return f"<pre>{text}</pre>"
    return f'<pre><code class="language-{language}">{text}</code></pre>'


def _render_link(text: str, href: str) -> str:
    """Render a link whose label is already escaped."""
    return f'<a href="{escape_html(href)}">{text}</a>'
