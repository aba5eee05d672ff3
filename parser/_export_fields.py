"""Typed reads of message fields from a Telegram Desktop export, rejecting wrong types."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime


class MalformedMessageError(ValueError):
    """Error for an exported message with a field of the wrong type or value, which is skipped."""


def read_int(raw: Mapping[str, object], key: str) -> int:
    """Return the integer at ``key``; raise MalformedMessageError if it is missing or not one."""
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessageError(f"{key} is {value!r}, expected an integer")
    return value


def read_str(raw: Mapping[str, object], key: str) -> str | None:
    """Return the string at ``key``, None when it is missing or null, or raise for other types."""
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MalformedMessageError(f"{key} is {type(value).__name__}, expected a string")


def read_mapping(raw: Mapping[str, object], key: str) -> Mapping[str, object] | None:
    """Return the JSON object at ``key``, None when it is missing or null, or raise for others."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    raise MalformedMessageError(f"{key} is {type(value).__name__}, expected an object")


def read_time(raw: Mapping[str, object], unix_key: str, iso_key: str) -> datetime | None:
    """Read an aware UTC time from ``unix_key`` or, when that is missing, from ``iso_key``."""
    if raw.get(unix_key) is not None:
        return _parse_unix_time(raw[unix_key], unix_key)
    if raw.get(iso_key) is not None:
        return _parse_iso_time(raw[iso_key], iso_key)
    return None


def _parse_unix_time(value: object, key: str) -> datetime:
    """Convert Unix seconds, written by Telegram Desktop as a decimal string, to UTC."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessageError(f"{key} is {value!r}, expected Unix seconds")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise MalformedMessageError(f"{key} {value} is out of range") from error


def _parse_iso_time(value: object, key: str) -> datetime:
    """Parse an ISO 8601 time and read it as UTC when it has no offset."""
    if not isinstance(value, str):
        raise MalformedMessageError(f"{key} is {value!r}, expected an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise MalformedMessageError(f"{key} {value!r} is not an ISO 8601 time") from error
    # NOTE: Telegram Desktop writes `date` in the exporting computer's local time without an
    # offset (export_output_json.cpp), so reading it as UTC is right only for exports made on
    # UTC machines. That is why `date_unixtime`, written alongside it, is preferred.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
