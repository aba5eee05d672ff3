"""Attachments of posts on Telegram's web preview, read from the CSS classes of the page."""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from parser._preview_text import plain_text

# CSS classes of the element that shows each kind of attachment, as of the pages saved in
# 2023 under tests/data/web_preview. A video player without a duration is a GIF.
# NOTE: no saved page shows a location or a music file, so the location class is unverified
# and music may come out as a document.
_CLASS_KINDS = {
    "tgme_widget_message_photo_wrap": "photo",
    "tgme_widget_message_video_player": "video",
    "tgme_widget_message_roundvideo_player": "round_video",
    "tgme_widget_message_voice_player": "voice",
    "tgme_widget_message_document_wrap": "document",
    "tgme_widget_message_sticker_wrap": "sticker",
    "tgme_widget_message_poll": "poll",
    "tgme_widget_message_link_preview": "link_preview",
    "tgme_widget_message_location_wrap": "location",
}


@dataclass(frozen=True, slots=True)
class PreviewMedia:
    """Attachments of one post: kinds in page order and notes for the ones without text."""

    kinds: tuple[str, ...] = ()
    description: str = ""
    is_album: bool = False
    link_preview: LexborNode | None = None


def read_preview_media(message: LexborNode) -> PreviewMedia:
    """Find the attachments of a post, in the order the page shows them."""
    kinds: list[str] = []
    notes: list[str] = []
    link_preview = None
    for node in message.traverse():
        kind = _kind_of(node)
        if kind is None:
            continue
        kinds.append(kind)
        notes.append(_note_for(node, kind))
        if kind == "link_preview" and link_preview is None:
            link_preview = node
    if not kinds and message.css_first(".message_media_not_supported_wrap") is not None:
        # The page shows "not supported" for attachments it cannot render, such as games.
        kinds.append("other")
    is_album = message.css_first(".tgme_widget_message_grouped_wrap") is not None
    description = next((note for note in notes if note), "")
    return PreviewMedia(tuple(kinds), description, is_album, link_preview)


def _kind_of(node: LexborNode) -> str | None:
    """Return the media kind that an element shows, or None for other elements."""
    for class_name in (node.attributes.get("class") or "").split():
        kind = _CLASS_KINDS.get(class_name)
        if kind == "video" and node.css_first(".message_video_duration") is None:
            # GIFs are looping videos that the page shows without a duration.
            return "gif"
        if kind is not None:
            return kind
    return None


def _note_for(node: LexborNode, kind: str) -> str:
    """Return the plain-text note of a document or poll, and an empty string for other kinds."""
    if kind == "document":
        return plain_text(node.css_first(".tgme_widget_message_document_title"))
    if kind == "poll":
        return plain_text(node.css_first(".tgme_widget_message_poll_question"))
    return ""
