"""Counting the SQL statements that Tortoise sends, through its ``tortoise.db_client`` log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class StatementCounter(logging.Handler):
    """A log handler that records each statement Tortoise sends to the database."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        query = record.args[0] if isinstance(record.args, tuple) and record.args else record.msg
        self.statements.append(str(query).strip())

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_statements() -> Iterator[StatementCounter]:
    """Count the statements sent inside the block; connection set-up is not a statement."""
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    counter.addFilter(lambda record: not str(record.msg).startswith("Created connection"))
    previous_level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous_level)
