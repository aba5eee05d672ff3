"""Validation of public Telegram usernames shared by the importers."""

from __future__ import annotations

import re

# Telegram usernames are 5 to 32 characters of a-z, 0-9 and underscore, starting with a letter,
# and compare case-insensitively.
_USERNAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{4,31}")


def normalize_username(value: str) -> str:
    """Return ``value`` lowercased without a leading ``@``; raise ValueError if it is invalid."""
    username = value.strip().removeprefix("@").lower()
    if not _USERNAME_PATTERN.fullmatch(username):
        raise ValueError(
            f"invalid channel username {value!r}: expected 5-32 characters of letters, digits "
            "and underscores, starting with a letter"
        )
    return username
