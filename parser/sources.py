"""The loader that ``python -m digester replay`` finds through the ``digester.sources``
entry point: Telegram Desktop exports (``.json``) and saved t.me/s pages (``.html``)."""

from __future__ import annotations

from pathlib import Path

from digester.drafts import SourcePosts
from parser.desktop_export import load_desktop_export
from parser.web_preview import parse_web_preview

WEB_PAGE_SUFFIXES = {".html", ".htm"}


def load_path(path: Path, channel_username: str | None) -> SourcePosts | None:
    """Read a Desktop export or a saved web-preview page; None for other files."""
    if path.suffix.lower() == ".json":
        export = load_desktop_export(path, channel_username=channel_username)
        return SourcePosts(
            channel_username=export.channel_username,
            channel_title=export.channel_title,
            channel_telegram_id=export.channel_id,
            drafts=export.drafts,
        )
    if path.suffix.lower() in WEB_PAGE_SUFFIXES:
        # A page names its own channel; the caller's username only fills in when it does not.
        html = path.read_text(encoding="utf-8")
        page = parse_web_preview(html)
        if page.channel_username is None and channel_username:
            page = parse_web_preview(html, channel_username=channel_username)
        return SourcePosts(
            channel_username=page.channel_username,
            channel_title=page.channel_title or page.channel_username or path.stem,
            channel_telegram_id=None,
            drafts=page.drafts,
        )
    return None
