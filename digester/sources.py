"""Finding the reader for a source file without importing the packages that provide them.

A package that reads sources (the ``parser`` package of this project, or any plugin)
registers a loader under the ``digester.sources`` entry point group. A loader takes a path
and an optional channel username and returns ``SourcePosts``, or None when the file is not
of its kind.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from digester.drafts import SourcePosts

ENTRY_POINT_GROUP = "digester.sources"

SourceLoader = Callable[[Path, str | None], SourcePosts | None]


class UnknownSourceError(Exception):
    """No registered loader reads the given file."""


def source_loaders() -> list[SourceLoader]:
    """Return the registered loaders, in name order."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name)
    return [point.load() for point in found]


def load_source(path: Path, channel_username: str | None = None) -> SourcePosts:
    """Read one source file with the first loader that accepts it."""
    if not path.is_file():
        raise UnknownSourceError(f"{path} is not a file")
    for loader in source_loaders():
        posts = loader(path, channel_username)
        if posts is not None:
            return posts
    raise UnknownSourceError(
        f"{path}: no loader reads this file; expected a Telegram Desktop export (result.json) "
        "or a saved t.me/s page (.html)"
    )
