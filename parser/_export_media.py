"""Attachments of Telegram Desktop export messages as media kinds and a short description."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

from parser._export_fields import MalformedMessageError, read_mapping, read_str

# Media kinds for the `media_type` values of Telegram Desktop. A file without one is a document.
_MEDIA_TYPE_KINDS = {
    "video_file": "video",
    "animation": "gif",
    "voice_message": "voice",
    "video_message": "round_video",
    "audio_file": "audio",
    "sticker": "sticker",
}

# Desktop writes a note in brackets in place of a path when the export skipped the file, such as
# "(File not included. Change data exporting settings to download.)".
_SKIPPED_FILE_PREFIX = "("

Attachment = tuple[str, str]
"""A media kind and its description, which may be empty."""


def read_media(raw: Mapping[str, object]) -> tuple[tuple[str, ...], str]:
    """Return the media kinds of a message in source order and the first non-empty description."""
    attachments = [attachment for reader in _READERS if (attachment := reader(raw)) is not None]
    kinds = tuple(kind for kind, _ in attachments)
    description = next((text for _, text in attachments if text), "")
    return kinds, description


def _read_photo(raw: Mapping[str, object]) -> Attachment | None:
    """Read the ``photo`` field, a path or a placeholder when the file was not exported."""
    if read_str(raw, "photo") is None:
        return None
    return "photo", ""


def _read_file(raw: Mapping[str, object]) -> Attachment | None:
    """Read a file attachment, whose kind comes from ``media_type``."""
    media_type = read_str(raw, "media_type")
    path = read_str(raw, "file")
    if media_type is None and path is None:
        return None
    kind = _MEDIA_TYPE_KINDS.get(media_type, "other") if media_type else "document"
    if kind == "document":
        return kind, _file_name(raw, path)
    if kind == "audio":
        return kind, _audio_title(raw) or _file_name(raw, path)
    if kind == "sticker":
        return kind, read_str(raw, "sticker_emoji") or ""
    return kind, ""


def _file_name(raw: Mapping[str, object], path: str | None) -> str:
    """Return the original file name, or the exported file's name when the export lacks it."""
    file_name = read_str(raw, "file_name")
    if file_name:
        return file_name
    if path and not path.startswith(_SKIPPED_FILE_PREFIX):
        return PurePosixPath(path).name
    return ""


def _audio_title(raw: Mapping[str, object]) -> str:
    """Return "performer – title" of an audio file, or whichever of them is present."""
    parts = [read_str(raw, "performer"), read_str(raw, "title")]
    return " – ".join(part for part in parts if part)


def _read_poll(raw: Mapping[str, object]) -> Attachment | None:
    """Read a poll, described by its question."""
    poll = read_mapping(raw, "poll")
    if poll is None:
        return None
    question = read_str(poll, "question")
    if question is None:
        raise MalformedMessageError("poll has no question")
    return "poll", question.strip()


def _read_location(raw: Mapping[str, object]) -> Attachment | None:
    """Read a location or venue, described by the venue or else by its coordinates."""
    if "location_information" not in raw and "place_name" not in raw:
        return None
    venue = [read_str(raw, "place_name"), read_str(raw, "address")]
    if any(venue):
        return "location", ", ".join(part for part in venue if part)
    # Desktop writes null in place of the coordinates of an empty geo point.
    location = read_mapping(raw, "location_information")
    if location is None:
        return "location", ""
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if not all(_is_number(value) for value in (latitude, longitude)):
        raise MalformedMessageError(f"location_information {location!r} has no coordinates")
    return "location", f"{latitude}, {longitude}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read_contact(raw: Mapping[str, object]) -> Attachment | None:
    """Read a shared contact, described by its name and not by its phone number."""
    contact = read_mapping(raw, "contact_information")
    if contact is None:
        return None
    names = [read_str(contact, "first_name"), read_str(contact, "last_name")]
    return "contact", " ".join(name for name in names if name)


def _read_other(raw: Mapping[str, object]) -> Attachment | None:
    """Read a game or an invoice, described by its title."""
    if raw.get("game_title") is not None:
        return "other", read_str(raw, "game_title") or ""
    invoice = read_mapping(raw, "invoice_information")
    if invoice is not None:
        return "other", read_str(invoice, "title") or ""
    return None


_READERS: tuple[Callable[[Mapping[str, object]], Attachment | None], ...] = (
    _read_photo,
    _read_file,
    _read_poll,
    _read_location,
    _read_contact,
    _read_other,
)
