"""Tests of the t.me/s web preview parser on saved real pages and synthetic post blocks."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digester.drafts import PostDraft
from digester.html import check_telegram_html, visible_text
from parser.web_preview import WebPreviewPage, parse_web_preview

PAGES = Path(__file__).parent / "data" / "web_preview"
FRAGMENTS = sorted(
    [*PAGES.glob("media_*.html"), *PAGES.glob("link_preview*.html"), PAGES / "poll.html"]
)
SINGLE_POSTS = sorted(PAGES.glob("message_*.html"))


def read_page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def parse_file(name: str) -> WebPreviewPage:
    return parse_web_preview(read_page(name))


def only_draft(name: str) -> PostDraft:
    page = parse_file(name)
    assert len(page.drafts) == 1
    return page.drafts[0]


def post_block(inner_html: str, data_post: str = "channel/6", meta: str = "") -> str:
    """Wrap a fragment in the markup of one post, with a date link in its footer."""
    return (
        f'<div class="tgme_widget_message js-widget_message" data-post="{data_post}">'
        f'<div class="tgme_widget_message_bubble">{inner_html}'
        f'<span class="tgme_widget_message_meta">{meta}<a class="tgme_widget_message_date" '
        f'href="https://t.me/{data_post}"><time datetime="2023-03-01T08:01:50+00:00">11:01</time>'
        "</a></span></div></div>"
    )


@pytest.fixture(scope="module")
def full_page() -> WebPreviewPage:
    return parse_file("full.html")


@pytest.fixture(scope="module")
def full_drafts(full_page: WebPreviewPage) -> dict[int, PostDraft]:
    return {draft.message_id: draft for draft in full_page.drafts}


# Whole page


def test_full_page_draft_count(full_page: WebPreviewPage) -> None:
    raw_ids = [
        int(value)
        for value in re.findall(r'data-post="topwar_official/(\d+)"', read_page("full.html"))
    ]

    assert [draft.message_id for draft in full_page.drafts] == raw_ids
    assert len(raw_ids) == 12
    assert full_page.rejected_count == 0
    assert full_page.skipped_count == 0


def test_full_page_channel(full_page: WebPreviewPage) -> None:
    assert full_page.channel_username == "topwar_official"
    assert full_page.channel_title == "Военное обозрение"
    assert {draft.channel_username for draft in full_page.drafts} == {"topwar_official"}
    assert {draft.channel_title for draft in full_page.drafts} == {"Военное обозрение"}


def test_full_page_cursor(full_page: WebPreviewPage) -> None:
    assert full_page.next_before_id == 70989


def test_full_page_dates_match_page(full_page: WebPreviewPage) -> None:
    raw_times = re.findall(r'<time\s+datetime="([^"]+)"', read_page("full.html"))
    expected = [datetime.fromisoformat(value) for value in raw_times]

    assert [draft.published_at for draft in full_page.drafts] == expected
    for draft in full_page.drafts:
        assert draft.published_at.tzinfo is UTC


def test_full_page_html_is_valid(full_page: WebPreviewPage) -> None:
    for draft in full_page.drafts:
        assert draft.text_html != ""
        assert check_telegram_html(draft.text_html) == [], draft.message_id
        assert draft.text_html.strip() == draft.text_html


def test_full_page_media(full_drafts: dict[int, PostDraft]) -> None:
    media = {message_id: draft.media for message_id, draft in full_drafts.items()}

    assert media == {
        70989: ("photo",),
        70990: (),
        70992: ("photo", "photo", "video"),
        70995: (),
        70996: ("link_preview",),
        70997: (),
        70998: ("photo",),
        70999: (),
        71000: ("photo",) * 6,
        71006: ("video",),
        71007: ("video",),
        71008: ("video",),
    }


def test_full_page_albums(full_drafts: dict[int, PostDraft]) -> None:
    albums = {message_id for message_id, draft in full_drafts.items() if draft.album_id}

    assert albums == {70992, 71000}
    assert full_drafts[70992].album_id == "topwar_official/70992"
    assert full_drafts[70992].text_html.startswith("Сегодня ночью в Республике Адыгея")


def test_full_page_forwarded(full_drafts: dict[int, PostDraft]) -> None:
    forwarded = {
        message_id: draft.forwarded_from
        for message_id, draft in full_drafts.items()
        if draft.forwarded_from
    }

    assert forwarded == {
        70996: "Военкор Ярем",
        70998: "БелВПО",
        71006: "Старше Эдды",
        71007: "Пул N3",
        71008: "ImpNavigator",
    }


def test_full_page_formatting(full_drafts: dict[int, PostDraft]) -> None:
    assert "<b>проведена тренировка </b>по взаимодействию" in full_drafts[70997].text_html
    assert (
        '<a href="https://t.me/infantmilitario/93419">на расстояние 180 метров</a>'
        in full_drafts[70996].text_html
    )
    assert full_drafts[70998].text_html.startswith(
        "<b>Новые ракетные корабли ВМФ РФ с Калибрами вышли на учения в Балтийское море\n\n</b>"
    )


def test_full_page_line_breaks(full_drafts: dict[int, PostDraft]) -> None:
    text = visible_text(full_drafts[70989].text_html)

    assert text == (
        "В Санкт-Петербурге в небо над городом подняли истребители из-за неизвестного объекта "
        "в воздухе, аэропорт Пулково не принимает самолеты, сообщает Baza.\n"
        "Судя по сервису Flightradar, гражданские самолеты не приближаются к Санкт-Петербургу."
    )


def test_full_page_quotes_unescaped(full_drafts: dict[int, PostDraft]) -> None:
    text = visible_text(full_drafts[70995].text_html)

    assert text == (
        'План "Ковер" отменен, небо над Санкт-Петербургом открывают, сообщает источник РЕН ТВ.'
    )


def test_full_page_link_preview(full_drafts: dict[int, PostDraft]) -> None:
    draft = full_drafts[70996]

    # The text links the previewed post with https while the preview uses http.
    assert "t.me/infantmilitario/93419" in draft.text_html
    assert draft.description == "Милитарист"


# Single posts


@pytest.mark.parametrize("path", SINGLE_POSTS, ids=lambda path: path.stem)
def test_single_post_parsed(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    username, message_id = re.findall(r'data-post="(\w+)/(\d+)"', raw)[0]
    raw_time = re.findall(r'<time\s+datetime="([^"]+)"', raw)[0]
    page = parse_web_preview(raw)

    assert len(page.drafts) == 1
    draft = page.drafts[0]
    assert draft.message_id == int(message_id)
    assert draft.channel_username == username
    assert page.channel_username == username
    assert draft.published_at == datetime.fromisoformat(raw_time)
    assert draft.published_at.tzinfo is UTC
    if draft.text_html:
        assert check_telegram_html(draft.text_html) == []
    assert draft.channel_title != ""


@pytest.mark.parametrize(
    ("name", "media", "description", "forwarded_from"),
    [
        ("message_text.html", (), "", None),
        (
            "message_media_file.html",
            ("document",),
            "Оппозиционные медиапроекты.pdf",
            "Кремлёвская прачка",
        ),
        ("message_media_forwarded_from.html", ("photo",), "", "Пул N3"),
        ("message_media_photo_and_video.html", ("video", "photo", "photo"), "", None),
        ("message_media_round_video.html", ("round_video",), "", None),
        ("message_voice.html", ("voice",), "", "Спортивный Екб"),
        ("message_poll.html", ("poll",), "Как лучше?", None),
        ("message_sticker.html", ("sticker",), "", None),
        ("message_with_from_author.html", (), "", None),
    ],
)
def test_single_post_media(
    name: str, media: tuple[str, ...], description: str, forwarded_from: str | None
) -> None:
    draft = only_draft(name)

    assert draft.media == media
    assert draft.description == description
    assert draft.forwarded_from == forwarded_from


@pytest.mark.parametrize(
    "name",
    ["message_media_round_video.html", "message_poll.html", "message_sticker.html"],
)
def test_media_only_post_has_no_text(name: str) -> None:
    draft = only_draft(name)

    assert draft.text_html == ""
    assert draft.media != ()


def test_text_post_formatting() -> None:
    draft = only_draft("message_text.html")
    text = visible_text(draft.text_html)

    assert draft.text_html.startswith(
        "<b>Неопознанный летающий объект замечен в 160 – 200 км от Петербурга\n\n</b>"
    )
    assert "объекта. В воздух подняты истребители." in text
    # Newlines of the saved HTML source are layout, not line breaks of the post.
    assert text.count("\n") == 4
    assert text.endswith("«Звуки как на параде».")


def test_album_of_photo_and_video() -> None:
    draft = only_draft("message_media_photo_and_video.html")

    assert draft.album_id == "anna_news/46908"
    assert draft.text_html.startswith("<b>Ночью над Белгородом сбили 3 беспилотника</b>\n\n")
    # Hashtags link to a relative search URL on the page, so only their text is kept.
    assert "#Белгород #Беспилотники" in draft.text_html
    assert "?q=" not in draft.text_html
    assert draft.text_html.endswith('<a href="https://t.me/anna_news">@anna_news</a>')


def test_voice_post_text() -> None:
    draft = only_draft("message_voice.html")

    assert visible_text(draft.text_html).startswith(
        "Обсудили:\n\n- Сталина не забыть\n- Плохие фильмы\n"
    )
    assert '<a href="https://t.me/kakberadio">@kakberadio</a>' in draft.text_html


def test_emoji_image_becomes_character() -> None:
    page = parse_file("message_link_preview_video.html")
    draft = page.drafts[0]

    assert draft.text_html.startswith("Жениться вам, барин, пора! 😁\n\n")
    assert "<i>" not in draft.text_html
    assert "<b>" not in draft.text_html


def test_edited_marker() -> None:
    edited = parse_file("message_link_preview_video.html")
    unedited = parse_file("message_text.html")

    assert edited.edited_ids == frozenset({11226})
    assert edited.drafts[0].edited_at is None
    assert unedited.edited_ids == frozenset()


def test_author_signature() -> None:
    page = parse_file("message_with_from_author.html")

    assert page.author_signatures == {4: "🅰️rkadiy Ivanov"}
    assert page.drafts[0].text_html == "test"
    assert page.channel_title == "Channel title"


def test_sticker_signature_kept_out_of_text() -> None:
    page = parse_file("message_sticker.html")

    assert page.author_signatures == {5: "🅰️User"}
    assert page.drafts[0].text_html == ""


@pytest.mark.parametrize(
    ("name", "url", "title"),
    [
        (
            "message_link_preview.html",
            "https://vnnews.ru/georgiy-zotov-okkupaciya-volosatym-kr/",
            "Георгий Зотов: ОККУПАЦИЯ ВОЛОСАТЫМ КРАБОМ",
        ),
        (
            "message_link_preview_text_only.html",
            "http://publication.pravo.gov.ru/Document/View/0001202302270011?index=7&rangeSize=1",
            "Распоряжение Президента Российской Федерации от 27.02.2023 № 59-рп",
        ),
        ("message_link_preview_video.html", "https://t.me/shalnyak/5410", "Shalnyak"),
    ],
)
def test_link_preview_url_reachable(name: str, url: str, title: str) -> None:
    draft = only_draft(name)

    assert draft.media == ("link_preview",)
    assert draft.description.startswith(title)
    assert url.replace("&", "&amp;") in draft.text_html or url in draft.description


# Fragments


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda path: path.stem)
def test_fragment_without_post_block(path: Path) -> None:
    page = parse_web_preview(path.read_text(encoding="utf-8"))

    assert page.drafts == ()
    assert page.channel_username is None
    assert page.rejected_count == 0


@pytest.mark.parametrize(
    ("name", "media", "description"),
    [
        ("media_photo.html", ("photo",), ""),
        ("media_video.html", ("video",), ""),
        ("media_video_gif.html", ("gif",), ""),
        ("media_video_too_big.html", ("video",), ""),
        ("media_cicrle_video.html", ("round_video",), ""),
        ("poll.html", ("poll",), "Как лучше?"),
    ],
)
def test_fragment_media_in_post(name: str, media: tuple[str, ...], description: str) -> None:
    page = parse_web_preview(post_block(read_page(name)))

    assert len(page.drafts) == 1
    assert page.drafts[0].media == media
    assert page.drafts[0].description == description
    assert page.drafts[0].text_html == ""


@pytest.mark.parametrize("name", ["link_preview.html", "link_preview_video.html"])
def test_link_preview_fragment_in_post(name: str) -> None:
    fragment = read_page(name)
    url = re.findall(r'tgme_widget_message_link_preview" href="([^"]+)"', fragment)[0]
    draft = parse_web_preview(post_block(fragment)).drafts[0]

    # A video inside a link preview belongs to the preview, not to the post.
    assert draft.media == ("link_preview",)
    assert draft.description.endswith(url)


# Synthetic cases


def text_block(inner_html: str) -> str:
    return f'<div class="tgme_widget_message_text js-message_text" dir="auto">{inner_html}</div>'


def test_markup_characters_escaped() -> None:
    draft = parse_web_preview(post_block(text_block("a &lt; b &amp;&amp; c &gt; d"))).drafts[0]

    assert draft.text_html == "a &lt; b &amp;&amp; c &gt; d"
    assert visible_text(draft.text_html) == "a < b && c > d"


def test_preformatted_whitespace_kept() -> None:
    inner = "Code:<br/><pre>def f():\n    return 1</pre>"
    draft = parse_web_preview(post_block(text_block(inner))).drafts[0]

    assert "def f():\n    return 1" in draft.text_html
    assert check_telegram_html(draft.text_html) == []


def test_custom_emoji_becomes_character() -> None:
    inner = (
        'Hi <tg-emoji emoji-id="5368324170671202286"><i class="emoji" '
        "style=\"background-image:url('x.png')\"><b>👍</b></i></tg-emoji> all"
    )
    draft = parse_web_preview(post_block(text_block(inner))).drafts[0]

    assert draft.text_html == "Hi 👍 all"


def test_reply_quote_not_taken_as_text() -> None:
    reply = (
        '<a class="tgme_widget_message_reply" href="https://t.me/channel/1">'
        '<div class="tgme_widget_message_text">quoted</div></a>'
    )
    draft = parse_web_preview(post_block(reply + text_block("own text"))).drafts[0]

    assert draft.text_html == "own text"


def test_empty_and_service_posts_skipped() -> None:
    service = post_block(text_block("Channel photo updated")).replace(
        "js-widget_message", "js-widget_message service_message", 1
    )
    html = post_block("", "channel/7") + service + post_block(text_block("kept"), "channel/9")
    page = parse_web_preview(html)

    assert [draft.message_id for draft in page.drafts] == [9]
    assert page.skipped_count == 2


def test_unusable_posts_rejected(caplog: pytest.LogCaptureFixture) -> None:
    without_time = (
        f'<div class="tgme_widget_message" data-post="channel/11">{text_block("no time")}</div>'
    )
    html = "".join(
        [
            post_block(text_block("first"), "channel/10"),
            without_time,
            post_block(text_block("no id"), "channel/abc"),
            post_block(text_block("bad name"), "a b/12"),
            post_block(text_block("last"), "channel/13"),
        ]
    )
    with caplog.at_level(logging.WARNING, logger="parser.web_preview"):
        page = parse_web_preview(html)

    assert [draft.message_id for draft in page.drafts] == [10, 13]
    assert page.rejected_count == 3
    assert len(caplog.records) == 3
    assert "data_post='channel/11'" in caplog.records[0].getMessage()


def test_other_channel_posts_rejected() -> None:
    html = post_block(text_block("mine"), "mychannel/1") + post_block(text_block("x"), "other/2")
    page = parse_web_preview(html, channel_username="@MyChannel")

    assert page.channel_username == "mychannel"
    assert [draft.message_id for draft in page.drafts] == [1]
    assert page.rejected_count == 1


def test_invalid_expected_username_rejected() -> None:
    with pytest.raises(ValueError, match="invalid channel username"):
        parse_web_preview("", channel_username="no")


def test_cursor_from_prev_link() -> None:
    html = (
        '<html><head><link rel="prev" href="/s/channel?before=500"></head>'
        f"<body>{post_block(text_block('x'))}</body></html>"
    )

    assert parse_web_preview(html).next_before_id == 500


def test_no_cursor_without_more_link() -> None:
    assert parse_web_preview(post_block(text_block("x"))).next_before_id is None


def test_unsupported_media_is_other() -> None:
    unsupported = (
        '<div class="message_media_not_supported_wrap"><div class="message_media_not_supported">'
        '<div class="message_media_not_supported_label">Not supported</div></div></div>'
    )
    draft = parse_web_preview(post_block(unsupported)).drafts[0]

    assert draft.media == ("other",)
    assert draft.text_html == ""


def test_non_utc_offset_converted() -> None:
    html = post_block(text_block("x")).replace("+00:00", "+03:00")
    draft = parse_web_preview(html).drafts[0]

    assert draft.published_at == datetime(2023, 3, 1, 5, 1, 50, tzinfo=UTC)
    assert draft.published_at.tzinfo is UTC
