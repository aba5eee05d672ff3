"""Tests of the Telegram Desktop export importer on real channel exports and synthetic cases."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digester.drafts import PostDraft
from digester.html import check_telegram_html, escape_html, utf16_len, visible_text
from parser.desktop_export import DesktopExport, ExportFormatError, load_desktop_export

EXPORTS = Path(__file__).parent / "data" / "channel_exports"
HABR = EXPORTS / "habr.json"
NAKED_SCIENCE = EXPORTS / "naked_science.json"
MEDIA_KEYS = (
    "photo",
    "file",
    "media_type",
    "poll",
    "location_information",
    "contact_information",
)


def load_raw(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as file:
        result: dict[str, Any] = json.load(file)
    return result


def raw_text(message: dict[str, Any]) -> str:
    """Join the ``text`` field of a raw message the way Telegram Desktop splits it."""
    text = message.get("text", "")
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else part["text"] for part in text)


def is_importable(message: dict[str, Any]) -> bool:
    has_media = any(key in message for key in MEDIA_KEYS)
    return message["type"] != "service" and (bool(raw_text(message).strip()) or has_media)


@pytest.fixture(scope="module")
def habr() -> DesktopExport:
    return load_desktop_export(HABR, channel_username="habr_com")


@pytest.fixture(scope="module")
def naked_science() -> DesktopExport:
    return load_desktop_export(NAKED_SCIENCE)


@pytest.fixture(scope="module")
def real_exports(habr: DesktopExport, naked_science: DesktopExport) -> dict[Path, DesktopExport]:
    return {HABR: habr, NAKED_SCIENCE: naked_science}


def drafts_by_id(export: DesktopExport) -> dict[int, PostDraft]:
    return {draft.message_id: draft for draft in export.drafts}


# Real exports


@pytest.mark.parametrize("path", [HABR, NAKED_SCIENCE], ids=["habr", "naked_science"])
def test_real_export_draft_count(path: Path, real_exports: dict[Path, DesktopExport]) -> None:
    raw = load_raw(path)
    export = real_exports[path]
    expected_ids = [message["id"] for message in raw["messages"] if is_importable(message)]

    assert [draft.message_id for draft in export.drafts] == expected_ids
    assert export.malformed_count == 0
    assert export.skipped_count == len(raw["messages"]) - len(expected_ids)
    assert export.channel_id == raw["id"]
    assert export.channel_title == raw["name"]


def test_real_export_known_counts(habr: DesktopExport, naked_science: DesktopExport) -> None:
    assert len(habr.drafts) == 944
    assert len(naked_science.drafts) == 967


@pytest.mark.parametrize("path", [HABR, NAKED_SCIENCE], ids=["habr", "naked_science"])
def test_real_export_html_is_valid(path: Path, real_exports: dict[Path, DesktopExport]) -> None:
    problems = {
        draft.message_id: check_telegram_html(draft.text_html)
        for draft in real_exports[path].drafts
        if draft.text_html
    }

    assert {message_id: found for message_id, found in problems.items() if found} == {}


@pytest.mark.parametrize("path", [HABR, NAKED_SCIENCE], ids=["habr", "naked_science"])
def test_real_export_text_is_whole(path: Path, real_exports: dict[Path, DesktopExport]) -> None:
    raw_texts = {message["id"]: raw_text(message) for message in load_raw(path)["messages"]}
    mismatched = [
        draft.message_id
        for draft in real_exports[path].drafts
        if visible_text(draft.text_html) != raw_texts[draft.message_id]
    ]

    assert mismatched == []


@pytest.mark.parametrize("path", [HABR, NAKED_SCIENCE], ids=["habr", "naked_science"])
def test_real_export_dates_are_utc(path: Path, real_exports: dict[Path, DesktopExport]) -> None:
    raw_messages = {message["id"]: message for message in load_raw(path)["messages"]}

    for draft in real_exports[path].drafts:
        raw = raw_messages[draft.message_id]
        expected = datetime.fromtimestamp(int(raw["date_unixtime"]), tz=UTC)
        assert draft.published_at.tzinfo is UTC
        assert draft.published_at == expected
        # The files were exported in UTC, so `date` names the same moment.
        assert draft.published_at == datetime.fromisoformat(raw["date"]).replace(tzinfo=UTC)


def test_real_export_has_no_media(habr: DesktopExport, naked_science: DesktopExport) -> None:
    for draft in habr.drafts + naked_science.drafts:
        assert draft.media == ()
        assert draft.description == ""
        assert draft.edited_at is None
        assert draft.forwarded_from is None
        assert draft.album_id is None


def test_real_export_usernames(habr: DesktopExport, naked_science: DesktopExport) -> None:
    assert habr.channel_username == "habr_com"
    assert {draft.channel_username for draft in habr.drafts} == {"habr_com"}
    assert naked_science.channel_username is None
    assert {draft.channel_username for draft in naked_science.drafts} == {None}
    assert {draft.channel_title for draft in habr.drafts} == {"Хабр"}


def test_habr_longest_post_is_whole(habr: DesktopExport) -> None:
    raw_messages = load_raw(HABR)["messages"]
    longest = max(raw_messages, key=lambda message: utf16_len(raw_text(message)))
    draft = drafts_by_id(habr)[longest["id"]]

    assert longest["id"] == 62501
    assert visible_text(draft.text_html) == raw_text(longest)
    assert utf16_len(visible_text(draft.text_html)) == 3270
    # Only the markup makes this post longer than Telegram's 4,096-character message limit.
    assert len(draft.text_html) > 4096
    assert check_telegram_html(draft.text_html) == []


def test_habr_bold_and_link(habr: DesktopExport) -> None:
    html = drafts_by_id(habr)[62089].text_html

    assert html.startswith(
        "<b>Большие и чёрные (ящики): что мы знаем о том, как «думают» нейросети</b>\n\n"
    )
    assert '<a href="https://habr.com/ru/companies/ods/articles/839694/?telegram_habr">' in html
    assert html.endswith("для всех нас как для человечества.</a>")


def test_habr_code_and_pre(habr: DesktopExport) -> None:
    drafts = drafts_by_id(habr)

    assert "<code>ERID: 2VSb5zE6hUC\nРеклама. ООО «Яндекс»</code>" in drafts[62118].text_html
    assert "<pre>ERID: 2VSb5ywoX6Q\n" in drafts[62564].text_html


@pytest.mark.parametrize("path", [HABR, NAKED_SCIENCE], ids=["habr", "naked_science"])
def test_real_export_entities_rendered(
    path: Path, real_exports: dict[Path, DesktopExport]
) -> None:
    tags = {"bold": "b", "italic": "i", "code": "code", "strikethrough": "s"}
    drafts = drafts_by_id(real_exports[path])
    checked = 0
    for message in load_raw(path)["messages"]:
        for entity in message["text_entities"]:
            text = escape_html(entity["text"])
            if entity["type"] in tags:
                tag = tags[entity["type"]]
                assert f"<{tag}>{text}</{tag}>" in drafts[message["id"]].text_html
                checked += 1
            elif entity["type"] == "text_link":
                assert f">{text}</a>" in drafts[message["id"]].text_html
                checked += 1

    assert checked > 100


def test_real_export_escapes_markup_characters(
    habr: DesktopExport, naked_science: DesktopExport
) -> None:
    drafts = [
        draft
        for draft in habr.drafts + naked_science.drafts
        if "&" in visible_text(draft.text_html) or "<" in visible_text(draft.text_html)
    ]

    assert len(drafts) > 10
    for draft in drafts:
        assert check_telegram_html(draft.text_html) == []
        assert "&amp;" in draft.text_html or "&lt;" in draft.text_html


# Synthetic exports


def write_export(directory: Path, messages: list[Any], **top_level: Any) -> Path:
    document = {"name": "Test channel", "type": "public_channel", "id": 1234567890}
    document.update(top_level)
    document["messages"] = messages
    path = directory / "result.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def message(message_id: int = 1, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "date": "2024-05-01T10:00:00",
        "date_unixtime": "1714557600",
        "from": "Test channel",
        "from_id": "channel1234567890",
        "text": "",
        "text_entities": [],
    }
    base.update(fields)
    return base


def import_one(tmp_path: Path, **fields: Any) -> PostDraft:
    export = load_desktop_export(write_export(tmp_path, [message(**fields)]))
    assert export.malformed_count == 0
    assert len(export.drafts) == 1
    return export.drafts[0]


def test_text_as_plain_string(tmp_path: Path) -> None:
    draft = import_one(tmp_path, text="Hello, world", text_entities=[])

    assert draft.text_html == "Hello, world"
    assert draft.media == ()


def test_markup_characters_escaped(tmp_path: Path) -> None:
    draft = import_one(tmp_path, text="a < b && c > d <b>not bold</b>")

    assert draft.text_html == "a &lt; b &amp;&amp; c &gt; d &lt;b&gt;not bold&lt;/b&gt;"
    assert check_telegram_html(draft.text_html) == []
    assert visible_text(draft.text_html) == "a < b && c > d <b>not bold</b>"


def test_adjacent_entities(tmp_path: Path) -> None:
    entities = [
        {"type": "bold", "text": "bold"},
        {"type": "italic", "text": "italic"},
        {"type": "text_link", "text": "link", "href": 'https://example.com/?a=1&b="2"'},
        {"type": "plain", "text": " & "},
        {"type": "bold", "text": "<again>"},
    ]
    draft = import_one(tmp_path, text=entities, text_entities=entities)

    assert draft.text_html == (
        "<b>bold</b><i>italic</i>"
        '<a href="https://example.com/?a=1&amp;b=&quot;2&quot;">link</a>'
        " &amp; <b>&lt;again&gt;</b>"
    )
    assert check_telegram_html(draft.text_html) == []


def test_nested_formatting_split_by_export(tmp_path: Path) -> None:
    # Telegram Desktop flattens bold-inside-link into consecutive pieces of one type each.
    entities = [
        {"type": "text_link", "text": "read ", "href": "https://example.com"},
        {"type": "bold", "text": "this"},
        {"type": "text_link", "text": " now", "href": "https://example.com"},
    ]
    draft = import_one(tmp_path, text=entities, text_entities=entities)

    assert draft.text_html == (
        '<a href="https://example.com">read </a><b>this</b><a href="https://example.com"> now</a>'
    )
    assert visible_text(draft.text_html) == "read this now"
    assert check_telegram_html(draft.text_html) == []


def test_text_list_without_entities(tmp_path: Path) -> None:
    text = ["Intro ", {"type": "bold", "text": "bold"}, " and ", {"type": "code", "text": "x<y"}]
    draft = import_one(tmp_path, text=text, text_entities=None)

    assert draft.text_html == "Intro <b>bold</b> and <code>x&lt;y</code>"


def test_entities_preferred_over_text(tmp_path: Path) -> None:
    draft = import_one(
        tmp_path,
        text="stale text",
        text_entities=[{"type": "italic", "text": "current text"}],
    )

    assert draft.text_html == "<i>current text</i>"


@pytest.mark.parametrize(
    ("entity", "expected"),
    [
        ({"type": "plain", "text": "a&b"}, "a&amp;b"),
        ({"type": "bold", "text": "x"}, "<b>x</b>"),
        ({"type": "italic", "text": "x"}, "<i>x</i>"),
        ({"type": "underline", "text": "x"}, "<u>x</u>"),
        ({"type": "strikethrough", "text": "x"}, "<s>x</s>"),
        ({"type": "spoiler", "text": "x"}, "<tg-spoiler>x</tg-spoiler>"),
        ({"type": "code", "text": "a<b"}, "<code>a&lt;b</code>"),
        ({"type": "pre", "text": "x = 1\n", "language": ""}, "<pre>x = 1\n</pre>"),
        (
            {"type": "pre", "text": "x = 1", "language": "python"},
            '<pre><code class="language-python">x = 1</code></pre>',
        ),
        ({"type": "pre", "text": "x", "language": "c++ (gcc)"}, "<pre>x</pre>"),
        ({"type": "blockquote", "text": "quoted"}, "<blockquote>quoted</blockquote>"),
        (
            {"type": "text_link", "text": "site", "href": "https://example.com"},
            '<a href="https://example.com">site</a>',
        ),
        ({"type": "text_link", "text": "no href"}, "no href"),
        ({"type": "text_link", "text": "script", "href": "javascript:alert(1)"}, "script"),
        ({"type": "text_link", "text": "relative", "href": "/path"}, "relative"),
        (
            {"type": "mention_name", "text": "Ann", "user_id": 42},
            '<a href="tg://user?id=42">Ann</a>',
        ),
        (
            {"type": "link", "text": "https://example.com/?a=1&b=2"},
            "https://example.com/?a=1&amp;b=2",
        ),
        ({"type": "mention", "text": "@durov"}, "@durov"),
        ({"type": "hashtag", "text": "#news"}, "#news"),
        ({"type": "cashtag", "text": "$USD"}, "$USD"),
        ({"type": "bot_command", "text": "/start"}, "/start"),
        ({"type": "email", "text": "a@example.com"}, "a@example.com"),
        ({"type": "phone", "text": "+1 555 0100"}, "+1 555 0100"),
        ({"type": "bank_card", "text": "4242 4242 4242 4242"}, "4242 4242 4242 4242"),
        ({"type": "custom_emoji", "text": "👍", "document_id": "5368324170671202286"}, "👍"),
        ({"type": "some_future_type", "text": "<new>"}, "&lt;new&gt;"),
    ],
    ids=lambda value: value["type"] if isinstance(value, dict) else None,
)
def test_entity_rendering(tmp_path: Path, entity: dict[str, Any], expected: str) -> None:
    draft = import_one(tmp_path, text=[entity], text_entities=[entity])

    assert draft.text_html == expected
    assert check_telegram_html(draft.text_html) == []


def test_photo_without_caption(tmp_path: Path) -> None:
    draft = import_one(tmp_path, photo="photos/photo_1@01-05-2024_10-00-00.jpg", width=800)

    assert draft.media == ("photo",)
    assert draft.text_html == ""
    assert draft.description == ""


def test_photo_not_included_with_caption(tmp_path: Path) -> None:
    draft = import_one(
        tmp_path,
        photo="(File not included. Change data exporting settings to download.)",
        text="Caption",
    )

    assert draft.media == ("photo",)
    assert draft.text_html == "Caption"


@pytest.mark.parametrize(
    ("media_type", "kind"),
    [
        ("video_file", "video"),
        ("animation", "gif"),
        ("voice_message", "voice"),
        ("video_message", "round_video"),
        ("audio_file", "audio"),
        ("sticker", "sticker"),
        ("some_future_media", "other"),
    ],
)
def test_media_types(tmp_path: Path, media_type: str, kind: str) -> None:
    draft = import_one(tmp_path, file="files/item", media_type=media_type, mime_type="x/y")

    assert draft.media == (kind,)
    assert draft.text_html == ""


def test_document_described_by_file_name(tmp_path: Path) -> None:
    draft = import_one(
        tmp_path,
        file="files/report (1).pdf",
        file_name="report.pdf",
        mime_type="application/pdf",
        text="Annual report",
    )

    assert draft.media == ("document",)
    assert draft.description == "report.pdf"
    assert draft.text_html == "Annual report"


def test_document_without_file_name(tmp_path: Path) -> None:
    draft = import_one(tmp_path, file="files/slides.pptx")

    assert draft.media == ("document",)
    assert draft.description == "slides.pptx"


def test_audio_described_by_title(tmp_path: Path) -> None:
    draft = import_one(
        tmp_path,
        file="(File not included. Change data exporting settings to download.)",
        media_type="audio_file",
        performer="Artist",
        title="Song",
    )

    assert draft.media == ("audio",)
    assert draft.description == "Artist – Song"


def test_sticker_described_by_emoji(tmp_path: Path) -> None:
    draft = import_one(
        tmp_path, file="stickers/sticker.webp", media_type="sticker", sticker_emoji="😂"
    )

    assert draft.media == ("sticker",)
    assert draft.description == "😂"


def test_poll_carries_question(tmp_path: Path) -> None:
    poll = {
        "question": "Which day?",
        "closed": False,
        "total_voters": 3,
        "answers": [
            {"text": "Monday", "voters": 1, "chosen": False},
            {"text": "Friday", "voters": 2, "chosen": False},
        ],
    }
    draft = import_one(tmp_path, poll=poll)

    assert draft.media == ("poll",)
    assert draft.description == "Which day?"
    assert draft.text_html == ""


def test_location_and_venue(tmp_path: Path) -> None:
    location = {"latitude": 55.75, "longitude": 37.62}
    point = import_one(tmp_path, location_information=location)
    venue = import_one(
        tmp_path, location_information=location, place_name="Museum", address="Main St 1"
    )
    empty_point = import_one(tmp_path, location_information=None, live_location_period_seconds=60)

    assert point.media == ("location",)
    assert point.description == "55.75, 37.62"
    assert venue.media == ("location",)
    assert venue.description == "Museum, Main St 1"
    assert empty_point.media == ("location",)
    assert empty_point.description == ""


def test_contact_described_by_name(tmp_path: Path) -> None:
    contact = {"first_name": "Ann", "last_name": "Lee", "phone_number": "+15550100"}
    draft = import_one(tmp_path, contact_information=contact)

    assert draft.media == ("contact",)
    assert draft.description == "Ann Lee"


def test_forwarded_and_edited(tmp_path: Path) -> None:
    draft = import_one(
        tmp_path,
        text="Forwarded text",
        forwarded_from="Other channel",
        edited="2024-05-01T11:00:00",
        edited_unixtime="1714561200",
    )

    assert draft.forwarded_from == "Other channel"
    assert draft.edited_at == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)


def test_date_without_unixtime_is_utc(tmp_path: Path) -> None:
    draft = import_one(tmp_path, text="x", date="2024-05-01T10:00:00", date_unixtime=None)

    assert draft.published_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert draft.published_at.tzinfo is UTC


def test_unixtime_preferred_over_date(tmp_path: Path) -> None:
    draft = import_one(tmp_path, text="x", date="2024-05-01T13:00:00", date_unixtime=1714557600)

    assert draft.published_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_service_and_empty_skipped(tmp_path: Path) -> None:
    messages = [
        message(1, text="kept"),
        message(2, type="service", action="pin_message", text=""),
        {"id": 6, "type": "unsupported"},
        message(3, text=""),
        message(4, text="   \n"),
        message(5, photo="photos/p.jpg"),
    ]
    export = load_desktop_export(write_export(tmp_path, messages))

    assert [draft.message_id for draft in export.drafts] == [1, 5]
    assert export.skipped_count == 4
    assert export.malformed_count == 0


def test_malformed_messages_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    without_id = message(text="no id")
    del without_id["id"]
    messages = [
        message(1, text="first"),
        without_id,
        message(3, text="bad date", date_unixtime=["1714557600"]),
        message(4, text="bad date", date_unixtime=None, date=20240501),
        message(5, text=42, text_entities=None),
        message(6, text_entities=[{"type": "bold"}]),
        message(7, text="x", poll="not an object"),
        "not a message",
        message(9, text="last"),
    ]
    with caplog.at_level(logging.WARNING, logger="parser.desktop_export"):
        export = load_desktop_export(write_export(tmp_path, messages))

    assert [draft.message_id for draft in export.drafts] == [1, 9]
    assert export.malformed_count == 7
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 7
    assert "message_id=None" in warnings[0]
    assert "message_id=3" in warnings[1]
    assert "date_unixtime" in warnings[1]
    assert all("result.json" in warning for warning in warnings)


def test_username_normalized(tmp_path: Path) -> None:
    path = write_export(tmp_path, [message(text="x")])
    export = load_desktop_export(path, channel_username="@Habr_Com")

    assert export.channel_username == "habr_com"
    assert export.drafts[0].channel_username == "habr_com"


@pytest.mark.parametrize("username", ["abc", "has space", "дефис", "_leading", "x" * 33, "@"])
def test_invalid_username_rejected(tmp_path: Path, username: str) -> None:
    path = write_export(tmp_path, [message(text="x")])

    with pytest.raises(ValueError, match="invalid channel username"):
        load_desktop_export(path, channel_username=username)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[1, 2, 3]", "top level is a JSON list"),
        ('{"name": "x", "type": "public_channel", "id": 1}', "no list of messages"),
        ('{"name": "x", "type": "personal_chat", "id": 1, "messages": []}', "personal_chat"),
        ('{"about": "x", "chats": {"list": []}}', "whole account"),
        ('{"name": "x", "type": "public_channel", "id": "1", "messages": []}', "id"),
        ('{"name": "x", "type": "public_channel", ', "not valid JSON"),
    ],
)
def test_non_export_rejected(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ExportFormatError, match=problem) as raised:
        load_desktop_export(path)

    assert str(path) in str(raised.value)
    assert "Export chat history" in str(raised.value)
    assert raised.value.path == path


def test_non_utf8_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00{")

    with pytest.raises(ExportFormatError, match="not UTF-8"):
        load_desktop_export(path)
