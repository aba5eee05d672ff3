"""Import of a channel's posts from a Telegram Desktop "Export chat history" result.json."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from digester.drafts import PostDraft
from parser._entities import joined_text, parse_text_pieces, render_pieces
from parser._export_fields import MalformedMessageError, read_int, read_str, read_time
from parser._export_media import read_media
from parser._usernames import normalize_username

logger = logging.getLogger(__name__)

CHANNEL_TYPES = frozenset({"public_channel", "private_channel"})
"""Values of the export's top-level ``type`` that mean a channel."""


class ExportFormatError(ValueError):
    """A file that is not a Telegram Desktop JSON export of one channel."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"{path} is not a Telegram Desktop channel export: {problem}. Expected the "
            "result.json that 'Export chat history' writes for a channel in JSON format."
        )
        self.path = path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class DesktopExport:
    """A channel and its posts read from a Telegram Desktop export.

    ``skipped_count`` counts service messages and messages without text or media.
    ``malformed_count`` counts messages skipped because a field had a wrong type or value.
    """

    channel_id: int
    channel_title: str
    channel_username: str | None
    drafts: tuple[PostDraft, ...]
    skipped_count: int = 0
    malformed_count: int = 0


@dataclass(frozen=True, slots=True)
class _Channel:
    """The top-level fields of an export that every post shares."""

    channel_id: int
    title: str
    username: str | None


def load_desktop_export(path: Path, *, channel_username: str | None = None) -> DesktopExport:
    """Read a channel export and convert its messages to drafts in file order.

    Desktop exports do not contain the channel's username, so ``channel_username`` supplies it.
    Raises ValueError for an invalid username and ExportFormatError when the file is not a
    channel export. Malformed messages are logged and skipped.
    """
    username = None if channel_username is None else normalize_username(channel_username)
    channel, messages = _read_channel(_read_json(path), path, username)
    export = _convert_messages(messages, channel, path)
    logger.info(
        "loaded desktop export path=%s channel_id=%d drafts=%d skipped=%d malformed=%d",
        path,
        channel.channel_id,
        len(export.drafts),
        export.skipped_count,
        export.malformed_count,
    )
    return export


def _convert_messages(messages: list[object], channel: _Channel, path: Path) -> DesktopExport:
    """Convert every message, logging and counting the malformed ones instead of raising."""
    drafts: list[PostDraft] = []
    skipped_count = malformed_count = 0
    for index, raw in enumerate(messages):
        try:
            draft = _parse_message(raw, channel)
        except MalformedMessageError as error:
            malformed_count += 1
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            logger.warning(
                "skipped malformed message path=%s index=%d message_id=%r: %s",
                path,
                index,
                raw_id,
                error,
            )
            continue
        if draft is None:
            skipped_count += 1
        else:
            drafts.append(draft)
    return DesktopExport(
        channel_id=channel.channel_id,
        channel_title=channel.title,
        channel_username=channel.username,
        drafts=tuple(drafts),
        skipped_count=skipped_count,
        malformed_count=malformed_count,
    )


def _read_json(path: Path) -> object:
    """Parse the file as UTF-8 JSON, raising ExportFormatError when it is not."""
    try:
        with path.open(encoding="utf-8") as file:
            return json.load(file)
    except UnicodeDecodeError as error:
        raise ExportFormatError(path, f"the file is not UTF-8 text ({error})") from error
    except json.JSONDecodeError as error:
        raise ExportFormatError(path, f"the file is not valid JSON ({error})") from error


def _read_channel(
    document: object, path: Path, username: str | None
) -> tuple[_Channel, list[object]]:
    """Check the top-level fields of an export and return its channel and raw messages."""
    if not isinstance(document, dict):
        raise ExportFormatError(path, f"the top level is a JSON {type(document).__name__}")
    if "chats" in document and "messages" not in document:
        raise ExportFormatError(path, "it is an export of a whole account")
    chat_type = document.get("type")
    if chat_type not in CHANNEL_TYPES:
        raise ExportFormatError(path, f"type is {chat_type!r}, not one of {sorted(CHANNEL_TYPES)}")
    messages = document.get("messages")
    if not isinstance(messages, list):
        raise ExportFormatError(path, "it has no list of messages")
    try:
        channel = _Channel(read_int(document, "id"), read_str(document, "name") or "", username)
    except MalformedMessageError as error:
        raise ExportFormatError(path, f"the channel's {error}") from error
    return channel, messages


def _parse_message(raw: object, channel: _Channel) -> PostDraft | None:
    """Convert one exported message, returning None for service messages and empty ones."""
    if not isinstance(raw, dict):
        raise MalformedMessageError(f"the message is a JSON {type(raw).__name__}")
    message_type = read_str(raw, "type") or "message"
    # Desktop writes media it cannot export as {"id": ..., "type": "unsupported"} alone.
    if message_type in ("service", "unsupported"):
        return None
    if message_type != "message":
        raise MalformedMessageError(f"type {message_type!r} is unknown")
    message_id = read_int(raw, "id")
    if message_id <= 0:
        raise MalformedMessageError(f"id {message_id} is not positive")
    published_at = read_time(raw, "date_unixtime", "date")
    if published_at is None:
        raise MalformedMessageError("the message has no date")
    pieces = parse_text_pieces(raw.get("text"), raw.get("text_entities"))
    text_html = render_pieces(pieces) if joined_text(pieces).strip() else ""
    media, description = read_media(raw)
    if not text_html and not media:
        return None
    return PostDraft(
        channel_username=channel.username,
        channel_title=channel.title,
        message_id=message_id,
        text_html=text_html,
        published_at=published_at,
        edited_at=read_time(raw, "edited_unixtime", "edited"),
        media=media,
        description=description,
        forwarded_from=read_str(raw, "forwarded_from"),
    )
