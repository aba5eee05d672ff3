"""Tokenizer, entity decoding and tag rules of Telegram's HTML parse mode.

The public interface is ``digester.html``. Its validator, sanitizer and splitter share this
module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOWED_URL_SCHEMES = frozenset({"http", "https", "tg", "mailto"})
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

# Tag name as written -> the entity it produces. A closing tag must repeat the written name.
TAG_KINDS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "tg-spoiler": "tg-spoiler",
    "span": "tg-spoiler",
    "a": "a",
    "tg-emoji": "tg-emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
FORMATTING_KINDS = frozenset({"b", "i", "u", "s", "tg-spoiler"})
MONOSPACE_KINDS = frozenset({"code", "pre"})

_NAME = r"[A-Za-z][A-Za-z0-9-]*"
_ATTR_NAME = r"[^\s\"'=<>/]+"
_ATTR_VALUE = r"\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+"
_TAG_RE = re.compile(
    rf"<(/?)({_NAME})((?:\s+{_ATTR_NAME}(?:\s*=\s*(?:{_ATTR_VALUE}))?)*)\s*>",
)
_ATTR_RE = re.compile(rf"({_ATTR_NAME})(?:\s*=\s*({_ATTR_VALUE}))?")
ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9A-Fa-f]{1,8})|([A-Za-z][A-Za-z0-9]{0,31}));")
LANGUAGE_CLASS_RE = re.compile(r"language-[A-Za-z0-9_+#.-]+")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute of a tag, with the source text between the quotes as ``value``."""

    name: str
    value: str | None
    quoted: bool


@dataclass(frozen=True, slots=True)
class Tag:
    """A start or end tag, with its lowercased ``name`` and its index in the source."""

    name: str
    closing: bool
    attributes: tuple[Attribute, ...]
    raw: str
    offset: int

    @property
    def kind(self) -> str | None:
        """Entity kind that Telegram makes of this tag, None for an unsupported tag."""
        return TAG_KINDS.get(self.name)


@dataclass(frozen=True, slots=True)
class Text:
    """Source text between tags, with entities not decoded and its index in the source."""

    raw: str
    offset: int


Token = Tag | Text


def escape_html(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` and ``"`` so text is safe in Telegram HTML and in attributes."""
    return text.translate(_ESCAPES)


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, the unit of Telegram's limits."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


# Longer links are dropped, keeping their text: a link must leave room for text in a
# 4,096-unit message, and browsers and servers commonly stop at about 2,000 characters.
MAX_URL_LENGTH = 2048


def is_allowed_url(url: str) -> bool:
    """Tell whether ``url`` is an absolute http, https, tg or mailto URL without spaces.

    URLs longer than ``MAX_URL_LENGTH`` characters are not allowed.
    """
    if not url or len(url) > MAX_URL_LENGTH:
        return False
    if any(char.isspace() or ord(char) < 0x20 for char in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme.lower() not in ALLOWED_URL_SCHEMES:
        return False
    return bool(parts.netloc) or parts.scheme.lower() not in ("http", "https")


def tokenize(html: str) -> list[Token]:
    """Split ``html`` into tags and text. A ``<`` that starts no well-formed tag stays in text."""
    tokens: list[Token] = []
    text_start = 0
    position = html.find("<")
    while position != -1:
        match = _TAG_RE.match(html, position)
        if match is None:
            position = html.find("<", position + 1)
            continue
        if position > text_start:
            tokens.append(Text(html[text_start:position], text_start))
        tokens.append(_make_tag(match))
        text_start = match.end()
        position = html.find("<", text_start)
    if text_start < len(html):
        tokens.append(Text(html[text_start:], text_start))
    return tokens


def _make_tag(match: re.Match[str]) -> Tag:
    attributes = []
    for name, value in _ATTR_RE.findall(match.group(3)):
        # findall gives "" for a missing value, and a present value is never empty here.
        quoted = value[:1] in ("'", '"')
        text = value[1:-1] if quoted else value or None
        attributes.append(Attribute(name.lower(), text, quoted))
    return Tag(
        match.group(2).lower(),
        match.group(1) == "/",
        tuple(attributes),
        match.group(0),
        match.start(),
    )


def decode_entity(match: re.Match[str]) -> str | None:
    """Return the character of an entity match, None when Telegram does not support it."""
    decimal, hexadecimal, named = match.groups()
    if named is not None:
        return NAMED_ENTITIES.get(named)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def decode_entities(raw: str) -> str:
    """Decode the entities Telegram supports and leave any other ``&`` as it is."""

    def replace(match: re.Match[str]) -> str:
        return decode_entity(match) or match.group(0)

    return ENTITY_RE.sub(replace, raw)


def iter_characters(raw: str) -> Iterator[tuple[str, str]]:
    """Yield ``(source, character)`` pairs of text, with a whole entity as one source."""
    position = 0
    for match in ENTITY_RE.finditer(raw):
        character = decode_entity(match)
        if character is None:
            continue
        yield from ((char, char) for char in raw[position : match.start()])
        yield match.group(0), character
        position = match.end()
    yield from ((char, char) for char in raw[position:])


def nesting_problem(kind: str, ancestors: Sequence[str]) -> str | None:
    """Describe why entity ``kind`` may not sit inside ``ancestors`` (outermost first), or None.

    The rules are those of the Bot API's "Formatting options": formatting entities may contain
    any entity except ``pre`` and ``code``, blockquotes do not nest, and links, code blocks and
    custom emoji do not contain each other, except ``code`` directly inside ``pre``.
    """
    for depth, outer in enumerate(ancestors):
        if not _may_contain(outer, kind, immediate=depth == len(ancestors) - 1):
            return f"<{kind}> cannot be nested inside <{outer}>"
    return None


def _may_contain(outer: str, inner: str, *, immediate: bool) -> bool:
    if outer == "pre" and inner == "code":
        return immediate
    if outer in ("code", "pre", "tg-emoji"):
        return False
    if inner in MONOSPACE_KINDS:
        return outer == "blockquote"
    if outer == "a":
        return inner in FORMATTING_KINDS
    if inner == "blockquote":
        return outer in FORMATTING_KINDS
    return True
