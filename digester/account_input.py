"""Checks of the account settings that an admin types: API keys and base URLs.

Each check returns a problem in words that never show the key, or None when the value can
be sent to an OpenAI-compatible server.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

BASE_URL_MAX_LENGTH = 255  # max_length of the chatgpt_account.base_url column
KEY_MIN_LENGTH = 8
_KEY_FORBIDDEN = "\\'\""
_HOST_LABELS = re.compile(r"[\w-]+(\.[\w-]+)*\.?")  # \w matches Unicode letters, digits and _


def key_problem(key: str) -> str | None:
    """Return why a key cannot be sent in an HTTP header, in words that do not show the key."""
    if len(key) < KEY_MIN_LENGTH:
        return f"has {len(key)} characters, fewer than {KEY_MIN_LENGTH}"
    for position, character in enumerate(key, start=1):
        if character.isspace():
            return f"contains whitespace at position {position}"
        if not character.isascii():
            return f"contains a non-ASCII character at position {position}"
        if not character.isprintable():
            return f"contains a control character at position {position}"
        if character in _KEY_FORBIDDEN:
            return f"contains a backslash or quote at position {position}"
    return None


def split_base_url(url: str) -> tuple[SplitResult | None, str | None]:
    """Split an API root URL, and return the parts or why the client cannot use it."""
    if len(url) > BASE_URL_MAX_LENGTH:
        return None, f"it has {len(url)} characters, more than {BASE_URL_MAX_LENGTH}"
    if not url.isprintable() or any(character.isspace() for character in url):
        return None, "it contains whitespace or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as error:
        return None, f"it cannot be parsed ({error})"
    if parts.scheme not in ("http", "https") or not url[len(parts.scheme) :].startswith("://"):
        return None, "its scheme is not http or https"
    if "@" in parts.netloc:
        return None, "it contains a user name or password, which would be stored in clear text"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return None, "it has a query or fragment, which the client would mangle"
    if port == 0:
        return None, "its port is 0"
    host_problem = _host_problem(parts)
    if host_problem is not None:
        return None, host_problem
    return parts, None


def _host_problem(parts: SplitResult) -> str | None:
    host = parts.hostname or ""
    if not host:
        return "it has no host name"
    if parts.netloc.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"its host [{host}] is not an IPv6 address"
        return None
    if not _HOST_LABELS.fullmatch(host):
        return f"its host {host!r} contains a character that host names cannot contain"
    try:
        host.encode("idna")
    except UnicodeError:
        return f"its host {host!r} has an empty label or one longer than 63 characters"
    return None


def shown_url(url: str) -> str:
    """Return a URL for messages: user name and password replaced by ``***``, cut at 80 chars."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        url = f"{scheme}{separator}***@{authority.rpartition('@')[2]}{slash}{path}"
    return url if len(url) <= 80 else url[:79] + "…"
