"""Text of posts on Telegram's web preview, converted to Telegram HTML."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from digester.html import sanitize_html, visible_text

# HTML whitespace, which a browser collapses. A no-break space (&nbsp;) is not part of it.
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")

# Ancestors whose text keeps its line breaks and indentation.
_PREFORMATTED_TAGS = frozenset({"pre", "code"})


def collapse_whitespace(text: str) -> str:
    """Return ``text`` with each run of whitespace replaced by one space and the ends stripped."""
    return _WHITESPACE.sub(" ", text).strip()


def plain_text(node: LexborNode | None) -> str:
    """Return the text of a node with whitespace collapsed, or an empty string for None."""
    if node is None:
        return ""
    return collapse_whitespace(node.text(deep=True))


def find_message_text(message: LexborNode) -> LexborNode | None:
    """Return the post's own text element, skipping the quoted text of a reply."""
    for node in message.css(".tgme_widget_message_text"):
        if not _has_ancestor_class(node, "tgme_widget_message_reply", message):
            return node
    return None


def text_node_to_html(node: LexborNode) -> str:
    """Convert a post's text element to Telegram HTML, changing the element in place."""
    _replace_emoji_images(node)
    _collapse_source_whitespace(node)
    # sanitize_html also drops links that Telegram rejects, such as the relative hashtag search
    # links (`?q=%23tag`) of the web preview, keeping their text.
    html = sanitize_html(node.inner_html or "")
    if not visible_text(html).strip():
        return ""
    return html


def _has_ancestor_class(node: LexborNode, class_name: str, stop: LexborNode) -> bool:
    """Return True when an ancestor of ``node`` below ``stop`` has the class ``class_name``."""
    parent = node.parent
    while parent is not None and parent.mem_id != stop.mem_id:
        if class_name in (parent.attributes.get("class") or "").split():
            return True
        parent = parent.parent
    return False


def _replace_emoji_images(node: LexborNode) -> None:
    """Replace custom emoji and emoji images with the emoji characters they show."""
    for emoji in node.css("tg-emoji"):
        emoji.replace_with(emoji.text(deep=True))
    for emoji in node.css("i.emoji"):
        emoji.replace_with(emoji.text(deep=True))


def _collapse_source_whitespace(node: LexborNode) -> None:
    """Collapse whitespace of the HTML source the way a browser would, except in code.

    Line breaks in the post are ``<br>`` elements, so newlines in text nodes are only layout of
    the HTML source. Spaces next to a ``<br>`` are dropped because a browser does not show them.
    """
    for text_node in list(node.traverse(include_text=True)):
        if not text_node.is_text_node or _is_preformatted(text_node, node):
            continue
        text = _WHITESPACE.sub(" ", text_node.text_content or "")
        if _is_tag(text_node.prev, "br"):
            text = text.lstrip(" ")
        if _is_tag(text_node.next, "br"):
            text = text.rstrip(" ")
        text_node.replace_with(text)


def _is_preformatted(text_node: LexborNode, stop: LexborNode) -> bool:
    """Return True when the text is inside ``<pre>`` or ``<code>`` below ``stop``."""
    parent = text_node.parent
    while parent is not None and parent.mem_id != stop.mem_id:
        if parent.tag in _PREFORMATTED_TAGS:
            return True
        parent = parent.parent
    return False


def _is_tag(node: LexborNode | None, tag: str) -> bool:
    return node is not None and node.tag == tag
