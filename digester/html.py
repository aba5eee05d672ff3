"""Telegram's HTML parse mode: escaping, validation, sanitizing, visible text and splitting.

Telegram accepts the tags ``b``/``strong``, ``i``/``em``, ``u``/``ins``, ``s``/``strike``/``del``,
``tg-spoiler`` or ``span class="tg-spoiler"``, ``a href``, ``tg-emoji emoji-id``, ``code``,
``pre`` (with ``code class="language-NAME"`` inside for a language) and ``blockquote`` (with
the boolean attribute ``expandable``). Text escapes ``<``, ``>`` and ``&``, and the only named
entities are ``&lt; &gt; &amp; &quot;``. Lengths are counted in UTF-16 code units.
"""

from __future__ import annotations

from digester._html_check import check_html
from digester._html_sanitize import sanitize
from digester._html_split import grapheme_clusters, split
from digester._html_tokens import (
    Text,
    decode_entities,
    escape_html,
    is_allowed_url,
    tokenize,
    utf16_len,
)

__all__ = [
    "MESSAGE_LIMIT",
    "check_telegram_html",
    "escape_html",
    "grapheme_clusters",
    "is_allowed_url",
    "sanitize_html",
    "split_html",
    "utf16_len",
    "visible_text",
]

MESSAGE_LIMIT = 4096
"""Maximum length of a text message, in UTF-16 code units."""


def sanitize_html(html: str) -> str:
    """Convert arbitrary HTML (model output, t.me/s post markup) into valid Telegram HTML.

    Supported tags keep only their allowed attributes and are renamed to b, i, u, s and
    tg-spoiler. ``<br>`` becomes a newline, block elements such as ``p``, ``div``, ``li``
    (prefixed with "• ") and headings become lines, and other tags are dropped with their
    text kept, except the content of ``script``, ``style`` and similar elements. A link keeps
    its href only for an http, https, tg or mailto URL. A tag that Telegram does not allow in
    its place, such as ``b`` inside ``code``, is dropped with its text kept. Text is escaped,
    tags are balanced, more than two newlines in a row become two, and outer whitespace is
    stripped. The result can be empty, which Telegram rejects. Idempotent.
    """
    return sanitize(html)


def visible_text(html: str) -> str:
    """Return the text shown to a reader: tags removed and supported entities decoded."""
    return "".join(decode_entities(t.raw) for t in tokenize(html) if isinstance(t, Text))


def check_telegram_html(html: str) -> list[str]:
    """Return the problems that make Telegram reject ``html``, or an empty list when it is valid.

    It reports an unsupported tag or attribute and an invalid attribute value, such as a link
    that is not http, https, tg or mailto. It reports unbalanced or misnested tags and a nesting
    that the Bot API forbids, such as ``code`` inside ``b``. It reports an unescaped ``<`` or
    ``&``, an unsupported or invalid entity and a message without visible text. It is stricter
    than Telegram, which silently drops some of this formatting. It does not check the length.
    """
    return check_html(html)


def split_html(
    html: str, limit: int = MESSAGE_LIMIT, *, first_limit: int | None = None
) -> list[str]:
    """Split valid Telegram HTML into valid parts of at most ``limit`` UTF-16 units each.

    Cuts go at a blank line if possible, then a line break, a sentence end, a space and, as a
    last resort, between grapheme clusters, never inside a tag or an entity or a tag
    ``tg-emoji``. Tags open at a cut are closed and reopened in the next part. Whitespace at a
    cut is dropped. ``first_limit`` sets a different limit for the first part, such as the
    room left in a message. Raises ValueError when ``html`` is invalid or a limit is too small
    for the open tags and the next grapheme cluster.
    """
    problems = check_html(html)
    if problems:
        raise ValueError(f"cannot split invalid Telegram HTML: {'; '.join(problems[:3])}")
    return split(html, limit, limit if first_limit is None else first_limit)
