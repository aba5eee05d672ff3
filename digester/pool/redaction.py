"""Masking of API keys in the log records of database libraries, which log SQL parameters.

Tortoise and aiosqlite log every statement with its parameters at DEBUG level, so writing an
account row would log its key. A filter on their loggers masks every key the pool has seen
and every ``sk-`` key.
"""

from __future__ import annotations

import logging
import re

from digester.models import mask_secret

# NOTE: a key without the ``sk-`` prefix is masked only once this process has seen it, so an
# INSERT of such a key by code outside the pool can still show it at DEBUG level.
_KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
_DATABASE_LOGGERS = ("tortoise", "tortoise.db_client", "aiosqlite", "asyncpg")
_MIN_SECRET_CHARS = 8  # shorter strings would mask unrelated text
_known_secrets: set[str] = set()


def remember_secret(secret: str) -> None:
    """Mask this secret in database log records from now on."""
    if len(secret) >= _MIN_SECRET_CHARS:
        _known_secrets.add(secret)


def mask_secrets(text: str) -> str:
    """Replace every known secret and every ``sk-`` key in ``text`` by its masked form."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, mask_secret(secret))
    return _KEY_LIKE.sub(lambda match: mask_secret(match.group()), text)


class SecretMaskingFilter(logging.Filter):
    """Rewrites a record's message with its secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


def install_secret_masking() -> None:
    """Add the masking filter to the database libraries' loggers, once."""
    for name in _DATABASE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SecretMaskingFilter) for f in logger.filters):
            logger.addFilter(SecretMaskingFilter())
