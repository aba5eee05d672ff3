"""Conversion of arbitrary HTML into Telegram HTML, used through ``digester.html``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from digester._html_tidy import BREAK, Segment, render
from digester._html_tokens import (
    LANGUAGE_CLASS_RE,
    TAG_KINDS,
    escape_html,
    is_allowed_url,
    nesting_problem,
)

# Elements whose text is not shown to a reader at all.
_HIDDEN_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "head"})
# Newlines that a block element puts before and after its text.
_BLOCK_BREAKS = {
    **dict.fromkeys(("p", "h1", "h2", "h3", "h4", "h5", "h6"), 2),
    **dict.fromkeys(
        ("div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "hr", "section", "article"),
        1,
    ),
    **dict.fromkeys(("header", "footer", "nav", "aside", "main", "figure", "figcaption"), 1),
    **dict.fromkeys(("address", "details", "summary", "center"), 1),
}
# Names that close the same element: </strong> closes <b> and so on.
_SAME_ELEMENT = {"strong": "b", "em": "i", "ins": "u", "strike": "s", "del": "s"}
_MAX_EXTRA_CONVERSIONS = 4
# Dropped from text: invisible C0 controls and DEL, and lone surrogates, which UTF-8 cannot encode.
_INVISIBLE_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class _Element:
    """An open source element, with ``kind`` None when its tag is left out of the output.

    ``source`` is the tag name that closes it. A ``plain`` element drops all tags inside it.
    """

    tag: str
    attributes: dict[str, str | None]
    source: str
    kind: str | None
    plain: bool = False


class _Converter(HTMLParser):
    """HTML parser that writes Telegram HTML segments, keeping tags balanced and nestable."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.segments: list[Segment] = []
        self.stack: list[_Element] = []
        self.hidden: str | None = None
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.hidden is not None:
            self.hidden_depth += tag == self.hidden
        elif tag in _HIDDEN_CONTENT:
            self.hidden, self.hidden_depth = tag, 1
        elif tag == "br":
            self.add_text("\n")
        elif tag in ("td", "th"):
            self.add_text(" ")
        elif tag in TAG_KINDS:
            self.open_element(tag, dict(attrs))
        elif tag in _BLOCK_BREAKS:
            self.request_newlines(_BLOCK_BREAKS[tag])
            if tag == "li":
                self.add_text("• ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.hidden is not None:
            self.hidden_depth -= tag == self.hidden
            if self.hidden_depth == 0:
                self.hidden = None
        elif tag == "br":
            # HTML5 parses a stray </br> as <br>.
            self.add_text("\n")
        elif tag in TAG_KINDS:
            self.close_element(_SAME_ELEMENT.get(tag, tag))
        elif tag in _BLOCK_BREAKS:
            self.request_newlines(_BLOCK_BREAKS[tag])

    def handle_data(self, data: str) -> None:
        if self.hidden is None:
            self.add_text(data)

    def open_element(self, tag: str, attributes: dict[str, str | None]) -> None:
        """Push an element and write its start tag when Telegram supports it in this place."""
        source = _SAME_ELEMENT.get(tag, tag)
        if _is_emoji_image(tag, attributes):
            # t.me/s draws an emoji as <i class="emoji"><b>🙂</b></i>, which is not formatting.
            self.stack.append(_Element(tag, attributes, source, None, plain=True))
            return
        kind, start_tag = _start_tag(tag, attributes, self.parent_kind())
        if kind is not None and not self.may_open(kind):
            kind = None
        if kind in ("blockquote", "pre"):
            self.request_newlines(1)
        if kind is not None:
            self.segments.append(Segment(start_tag, kind))
        self.stack.append(_Element(tag, attributes, source, kind))

    def close_element(self, source: str) -> None:
        """Close the innermost open element named ``source`` and reopen the ones inside it."""
        sources = [element.source for element in self.stack]
        if source not in sources:
            return
        index = len(sources) - 1 - sources[::-1].index(source)
        closed = self.stack[index:]
        del self.stack[index:]
        for element in reversed(closed):
            self.write_end_tag(element)
        if any(element.kind in ("blockquote", "pre") for element in closed):
            self.request_newlines(1)
        for element in closed[1:]:
            # Reopened in a new place, an element may lose or regain its tag or attributes.
            self.open_element(element.tag, element.attributes)

    def close_all(self) -> None:
        """Close every element still open at the end of the input."""
        for element in reversed(self.stack):
            self.write_end_tag(element)
        self.stack.clear()

    def write_end_tag(self, element: _Element) -> None:
        if element.kind is not None:
            self.segments.append(Segment(f"</{element.kind}>", element.kind, closing=True))

    def parent_kind(self) -> str | None:
        kinds = [element.kind for element in self.stack if element.kind is not None]
        return kinds[-1] if kinds else None

    def may_open(self, kind: str) -> bool:
        if any(element.plain for element in self.stack):
            return False
        ancestors = [element.kind for element in self.stack if element.kind is not None]
        return nesting_problem(kind, ancestors) is None

    def request_newlines(self, count: int) -> None:
        """Mark a block boundary that needs at least ``count`` newlines."""
        self.segments.append(Segment("", BREAK, newlines=count))

    def add_text(self, data: str) -> None:
        data = _INVISIBLE_RE.sub("", data.replace("\r\n", "\n").replace("\r", "\n"))
        if data:
            self.segments.append(Segment(data))


def _is_emoji_image(tag: str, attributes: dict[str, str | None]) -> bool:
    return tag == "i" and "emoji" in (attributes.get("class") or "").split()


def _start_tag(
    tag: str, attributes: dict[str, str | None], parent: str | None
) -> tuple[str | None, str]:
    """Return the entity kind and Telegram start tag for a source tag, kind None to drop it."""
    kind = TAG_KINDS[tag]
    classes = (attributes.get("class") or "").split()
    if tag == "span":
        return (kind, "<tg-spoiler>") if "tg-spoiler" in classes else (None, "")
    if tag == "a":
        href = (attributes.get("href") or "").strip()
        return (kind, f'<a href="{escape_html(href)}">') if is_allowed_url(href) else (None, "")
    if tag == "tg-emoji":
        emoji_id = (attributes.get("emoji-id") or "").strip()
        valid = emoji_id.isascii() and emoji_id.isdigit()
        return (kind, f'<tg-emoji emoji-id="{emoji_id}">') if valid else (None, "")
    if tag == "code":
        languages = [name for name in classes if LANGUAGE_CLASS_RE.fullmatch(name)]
        if parent == "pre" and languages:
            return kind, f'<code class="{languages[0]}">'
    if tag == "blockquote" and "expandable" in attributes:
        return kind, "<blockquote expandable>"
    return kind, f"<{kind}>"


def sanitize(html: str) -> str:
    """Convert arbitrary HTML into valid Telegram HTML, as ``digester.html.sanitize_html``.

    One conversion can leave newlines that a second one changes, where an element that split
    a whitespace run was dropped as empty. Converting until nothing changes makes the result
    idempotent. In tests on random tag soup one extra conversion was always enough.
    """
    result = _convert(html)
    for _ in range(_MAX_EXTRA_CONVERSIONS):
        again = _convert(result)
        if again == result:
            break
        result = again
    return result


def _convert(html: str) -> str:
    converter = _Converter()
    converter.feed(html)
    converter.close()
    converter.close_all()
    return render(converter.segments)
