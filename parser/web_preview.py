"""Parsing of saved pages of Telegram's public web preview of a channel (t.me/s/<channel>)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from digester.drafts import PostDraft
from digester.html import escape_html
from parser._preview_media import PreviewMedia, read_preview_media
from parser._preview_text import find_message_text, plain_text, text_node_to_html
from parser._usernames import normalize_username

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WebPreviewPage:
    """Posts of one web preview page and what the page shows about the channel.

    ``next_before_id`` is the ``before`` value of the page's link to older posts, so a poller
    fetches ``t.me/s/<channel>?before=<id>`` next. The page shows that a post was edited but
    not when, so edited posts are listed in ``edited_ids`` while their ``edited_at`` stays None.
    ``author_signatures`` maps message ids to the author signature shown under the post.
    ``rejected_count`` counts posts skipped with a logged warning: blocks without a usable
    ``data-post`` or time, and posts of another channel than the expected one.
    """

    channel_username: str | None
    channel_title: str
    drafts: tuple[PostDraft, ...]
    next_before_id: int | None = None
    edited_ids: frozenset[int] = frozenset()
    author_signatures: Mapping[int, str] = field(default_factory=dict)
    skipped_count: int = 0
    rejected_count: int = 0


class _RejectedPostError(ValueError):
    """A post block without a usable ``data-post`` or time, or a post of another channel."""


@dataclass(frozen=True, slots=True)
class _Post:
    """A parsed post block with the page-level facts that PostDraft has no field for."""

    draft: PostDraft
    edited: bool
    author_signature: str


def parse_web_preview(html: str, *, channel_username: str | None = None) -> WebPreviewPage:
    """Parse a saved t.me/s page, or a fragment with post blocks, into drafts in page order.

    ``channel_username`` is the expected channel. Posts of another channel are logged and
    skipped, like posts without an id or time. Raises ValueError for an invalid username.
    """
    expected = None if channel_username is None else normalize_username(channel_username)
    tree = LexborHTMLParser(html)
    title = _channel_title(tree)
    posts: list[_Post] = []
    skipped_count = rejected_count = 0
    for message in tree.css(".tgme_widget_message[data-post]"):
        try:
            post = _parse_post(message, expected, title)
        except _RejectedPostError as error:
            rejected_count += 1
            logger.warning(
                "skipped web preview post data_post=%r: %s",
                message.attributes.get("data-post"),
                error,
            )
            continue
        if post is None:
            skipped_count += 1
        else:
            posts.append(post)
    return _build_page(tree, expected, title, posts, skipped_count, rejected_count)


def _build_page(
    tree: LexborHTMLParser,
    expected: str | None,
    title: str,
    posts: list[_Post],
    skipped_count: int,
    rejected_count: int,
) -> WebPreviewPage:
    """Collect the parsed posts and page facts into a WebPreviewPage."""
    username = expected or _page_username(tree, posts)
    return WebPreviewPage(
        channel_username=username,
        channel_title=title or next((post.draft.channel_title for post in posts), ""),
        drafts=tuple(post.draft for post in posts),
        next_before_id=_next_before_id(tree),
        edited_ids=frozenset(post.draft.message_id for post in posts if post.edited),
        author_signatures={
            post.draft.message_id: post.author_signature for post in posts if post.author_signature
        },
        skipped_count=skipped_count,
        rejected_count=rejected_count,
    )


def _parse_post(message: LexborNode, expected: str | None, page_title: str) -> _Post | None:
    """Convert one post block, returning None for service messages and empty posts."""
    if "service_message" in (message.attributes.get("class") or "").split():
        return None
    username, message_id = _read_data_post(message.attributes.get("data-post") or "")
    if expected is not None and username != expected:
        raise _RejectedPostError(f"the post belongs to @{username}, expected @{expected}")
    media = read_preview_media(message)
    text_node = find_message_text(message)
    text_html = "" if text_node is None else text_node_to_html(text_node)
    if not text_html and not media.kinds:
        return None
    owner_name = plain_text(message.css_first(".tgme_widget_message_owner_name"))
    forwarded_from = plain_text(message.css_first(".tgme_widget_message_forwarded_from_name"))
    draft = PostDraft(
        channel_username=username,
        channel_title=page_title or owner_name,
        message_id=message_id,
        text_html=text_html,
        published_at=_published_at(message),
        album_id=f"{username}/{message_id}" if media.is_album else None,
        media=media.kinds,
        description=media.description or _link_preview_note(media, text_html),
        forwarded_from=forwarded_from or None,
    )
    signature = plain_text(message.css_first(".tgme_widget_message_from_author"))
    return _Post(draft, _is_edited(message), signature)


def _read_data_post(data_post: str) -> tuple[str, int]:
    """Split a ``data-post`` value such as ``durov/123`` into a username and a message id."""
    username, _, raw_id = data_post.strip().partition("/")
    if not (raw_id.isascii() and raw_id.isdigit()) or int(raw_id) <= 0:
        raise _RejectedPostError(f"data-post {data_post!r} has no valid message id")
    try:
        return normalize_username(username), int(raw_id)
    except ValueError as error:
        raise _RejectedPostError(f"data-post {data_post!r}: {error}") from error


def _published_at(message: LexborNode) -> datetime:
    """Read the post's time from the ``datetime`` attribute of its date link."""
    time_node = message.css_first(".tgme_widget_message_date time[datetime]")
    if time_node is None:
        time_node = message.css_first(".tgme_widget_message_meta time[datetime]")
    if time_node is None:
        raise _RejectedPostError("the post has no <time datetime> element in its footer")
    value = time_node.attributes.get("datetime") or ""
    try:
        published_at = datetime.fromisoformat(value)
    except ValueError as error:
        raise _RejectedPostError(f"publication time {value!r} is not ISO 8601") from error
    if published_at.tzinfo is None:
        raise _RejectedPostError(f"publication time {value!r} has no time zone offset")
    return published_at.astimezone(UTC)


def _is_edited(message: LexborNode) -> bool:
    """Return True when the footer shows the "edited" marker."""
    meta = message.css_first(".tgme_widget_message_meta")
    return meta is not None and "edited" in meta.text(deep=False).split()


def _link_preview_note(media: PreviewMedia, text_html: str) -> str:
    """Describe a link preview by its title, adding its URL when the text does not link it."""
    if media.link_preview is None:
        return ""
    url = (media.link_preview.attributes.get("href") or "").strip()
    title = plain_text(media.link_preview.css_first(".link_preview_title")) or plain_text(
        media.link_preview.css_first(".link_preview_site_name")
    )
    if not url or _without_scheme(url) in text_html:
        return title
    return f"{title} {url}".strip()


def _without_scheme(url: str) -> str:
    """Return the URL after ``scheme://``, HTML-escaped like an href in ``text_html``."""
    return escape_html(url.split("://", 1)[-1])


def _channel_title(tree: LexborHTMLParser) -> str:
    """Return the channel title from the page header, or an empty string for a fragment."""
    for selector in (".tgme_channel_info_header_title", ".tgme_header_title"):
        title = plain_text(tree.css_first(selector))
        if title:
            return title
    return ""


def _page_username(tree: LexborHTMLParser, posts: list[_Post]) -> str | None:
    """Return the channel username of the posts, or of the page header when it has no posts."""
    for post in posts:
        if post.draft.channel_username:
            return post.draft.channel_username
    header = plain_text(tree.css_first(".tgme_channel_info_header_username"))
    try:
        return normalize_username(header) if header else None
    except ValueError:
        return None


def _next_before_id(tree: LexborHTMLParser) -> int | None:
    """Return the ``before`` cursor of the link that loads older posts, if the page has one."""
    more = tree.css_first("a.tme_messages_more[data-before]")
    if more is not None:
        return _positive_int(more.attributes.get("data-before"))
    link = tree.css_first("link[rel=prev]")
    if link is None:
        return None
    values = parse_qs(urlsplit(link.attributes.get("href") or "").query).get("before", [])
    return _positive_int(values[0]) if values else None


def _positive_int(value: str | None) -> int | None:
    """Return ``value`` as a positive integer, or None when it is not one."""
    if value is None or not (value.isascii() and value.isdigit()) or int(value) <= 0:
        return None
    return int(value)
