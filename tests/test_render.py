"""Tests of digest rendering: layout, grouping, media notes, escaping and message packing."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from digester.html import (
    MESSAGE_LIMIT,
    check_telegram_html,
    escape_html,
    utf16_len,
    visible_text,
)
from digester.render import DigestEntry, render_digest

EXPORT = Path(__file__).parent / "data" / "channel_exports" / "habr.json"
START = datetime(2024, 12, 4, 8, 0, tzinfo=UTC)
UNLIMITED = 10**9


def make_entry(
    message_id: int,
    *,
    channel: str = "1",
    title: str = "Канал",
    username: str | None = "channel",
    minutes: int = 0,
    text: str = "Текст поста.",
    media: tuple[str, ...] = (),
    description: str = "",
) -> DigestEntry:
    link = f"https://t.me/{username}/{message_id}" if username else None
    return DigestEntry(
        channel_key=channel,
        channel_title=title,
        channel_username=username,
        message_id=message_id,
        published_at=START + timedelta(minutes=minutes),
        text_html=text,
        is_original=False,
        tone_title="Кратко",
        media=media,
        description=description,
        link=link,
    )


def assert_valid_messages(messages: list[str], limit: int = MESSAGE_LIMIT) -> None:
    assert messages
    for message in messages:
        assert utf16_len(message) <= limit, utf16_len(message)
        assert check_telegram_html(message) == [], message


def squeeze(text: str) -> str:
    return "".join(text.split())


def assert_same_visible_text(entries: list[DigestEntry], limit: int, language: str) -> None:
    split = render_digest(entries, language=language, limit=limit)
    whole = render_digest(entries, language=language, limit=UNLIMITED)
    assert len(whole) == 1
    assert_valid_messages(split, limit)
    assert squeeze("".join(visible_text(message) for message in split)) == squeeze(
        visible_text(whole[0])
    )


# --- layout --------------------------------------------------------------------------------------


def test_render_empty_digest() -> None:
    assert render_digest([]) == []


def test_render_header_in_russian() -> None:
    messages = render_digest([make_entry(1)], title_date=date(2024, 12, 4))
    assert messages[0].startswith("<b>Дайджест за 4 декабря</b>\n1 пост · Кратко\n\n")


def test_render_header_in_english() -> None:
    messages = render_digest([make_entry(1)], language="en", title_date=date(2024, 5, 21))
    assert messages[0].startswith("<b>Digest for 21 May</b>\n1 post · Кратко\n\n")


def test_render_header_without_date() -> None:
    assert render_digest([make_entry(1)])[0].startswith("<b>Дайджест</b>\n")


def test_render_unknown_language_falls_back_to_english() -> None:
    message = render_digest([make_entry(1)], language="de")[0]
    assert message.startswith("<b>Digest</b>\n1 post")
    assert "Open post" in message


def test_render_language_with_region() -> None:
    assert render_digest([make_entry(1)], language="ru-RU")[0].startswith("<b>Дайджест</b>")


@pytest.mark.parametrize(
    ("count", "words"),
    [(1, "1 пост"), (2, "2 поста"), (4, "4 поста"), (5, "5 постов"), (11, "11 постов")]
    + [(12, "12 постов"), (21, "21 пост"), (22, "22 поста"), (111, "111 постов")],
)
def test_render_russian_post_count(count: int, words: str) -> None:
    entries = [make_entry(index) for index in range(count)]
    assert f"\n{words} · Кратко\n" in render_digest(entries, limit=UNLIMITED)[0]


def test_render_english_post_count() -> None:
    entries = [make_entry(index) for index in range(3)]
    assert "\n3 posts · Кратко\n" in render_digest(entries, language="en")[0]


def test_render_mixed_tones_are_not_shown() -> None:
    entries = [make_entry(1), replace(make_entry(2), tone_title="Подробно")]
    assert "Кратко" not in render_digest(entries)[0]


def test_render_item_layout() -> None:
    entry = make_entry(7, text="<b>Заголовок</b>\nТекст")
    assert render_digest([entry])[0].endswith(
        '\n\n<b><a href="https://t.me/channel">Канал</a></b>\n'
        "<b>Заголовок</b>\nТекст\n"
        '<a href="https://t.me/channel/7">Открыть пост</a>'
    )


def test_render_without_username_has_no_links() -> None:
    message = render_digest([make_entry(7, username=None)])[0]
    assert "<a " not in message
    assert "<b>Канал</b>\nТекст поста." in message


def test_render_marks_original_text() -> None:
    entry = make_entry(1)
    rewritten = render_digest([entry])[0]
    original = render_digest([replace(entry, is_original=True)])[0]
    assert "без пересказа" not in rewritten
    assert original.endswith("Открыть пост</a> · <i>без пересказа</i>")


# --- grouping and order --------------------------------------------------------------------------


def test_render_groups_by_first_post() -> None:
    entries = [
        make_entry(30, channel="b", title="Бета", minutes=30, text="b-30"),
        make_entry(10, channel="a", title="Альфа", minutes=50, text="a-10"),
        make_entry(20, channel="b", title="Бета", minutes=5, text="b-20"),
        make_entry(5, channel="a", title="Альфа", minutes=10, text="a-5"),
        make_entry(40, channel="c", title="Гамма", minutes=7, text="c-40"),
    ]
    text = visible_text(render_digest(entries)[0])
    order = [text.index(marker) for marker in ("Бета", "b-20", "b-30", "Гамма", "c-40")]
    order += [text.index(marker) for marker in ("Альфа", "a-5", "a-10")]
    assert order == sorted(order)
    assert text.count("Бета") == 1


def test_render_same_time_orders_by_message_id() -> None:
    entries = [make_entry(9, text="nine"), make_entry(3, text="three")]
    text = visible_text(render_digest(entries)[0])
    assert text.index("three") < text.index("nine")


# --- media and descriptions ----------------------------------------------------------------------

MEDIA_NOTES = [
    (("photo",), "", "📷 Фото"),
    (("photo", "photo", "photo"), "", "📷 Фото ×3"),
    (("video",), "", "🎬 Видео"),
    (("photo", "video"), "", "📷 Фото · 🎬 Видео"),
    (("gif",), "", "🎞 GIF"),
    (("round_video",), "", "📹 Видеосообщение"),
    (("voice",), "", "🎙 Голосовое сообщение"),
    (("audio",), "Song.mp3", "🎵 Аудио: Song.mp3"),
    (("document",), "report.pdf", "📎 Файл: report.pdf"),
    (("sticker",), "", "🖼 Стикер"),
    (("poll",), "Какой язык лучше?", "📊 Опрос: Какой язык лучше?"),
    (("location",), "", "📍 Геопозиция"),
    (("contact",), "", "👤 Контакт"),
    (("other",), "", "📦 Вложение"),
    (("unknown_kind",), "", "📦 Вложение"),
    ((), "", "Пост без текста"),
    ((), "Только описание", "Только описание"),
]


@pytest.mark.parametrize(("media", "description", "note"), MEDIA_NOTES)
def test_render_media_only_post(media: tuple[str, ...], description: str, note: str) -> None:
    entry = make_entry(5, text="", media=media, description=description)
    message = render_digest([entry])[0]
    assert f"</b>\n{escape_html(note)}\n<a href" in message


def test_render_media_notes_in_english() -> None:
    entry = make_entry(5, text="", media=("poll",), description="Best language?")
    assert "📊 Poll: Best language?" in render_digest([entry], language="en")[0]


def test_render_whitespace_only_text_counts_as_empty() -> None:
    entry = make_entry(5, text=" <b> </b>\n", media=("photo",))
    assert "</b>\n📷 Фото\n<a href" in render_digest([entry])[0]


def test_render_media_note_precedes_text() -> None:
    entry = make_entry(5, text="Подпись", media=("photo",))
    assert "\n📷 Фото\nПодпись\n" in render_digest([entry])[0]


def test_render_link_preview_not_noted_with_text() -> None:
    entry = make_entry(5, text="Смотрите ссылку", media=("link_preview",))
    assert "🔗" not in render_digest([entry])[0]


def test_render_description_whitespace_collapsed() -> None:
    entry = make_entry(5, text="", media=("poll",), description="  Первая\nвторая  ")
    assert "📊 Опрос: Первая вторая\n" in render_digest([entry])[0]


# --- escaping ------------------------------------------------------------------------------------


def test_render_escapes_channel_title() -> None:
    entry = make_entry(1, title="A & B <C>", username=None)
    message = render_digest([entry])[0]
    assert "<b>A &amp; B &lt;C&gt;</b>" in message
    assert check_telegram_html(message) == []


def test_render_escapes_description() -> None:
    entry = make_entry(1, text="", media=("document",), description='<script>"x"&</script>')
    message = render_digest([entry])[0]
    assert "📎 Файл: &lt;script&gt;&quot;x&quot;&amp;&lt;/script&gt;" in message
    assert check_telegram_html(message) == []


def test_render_quotes_username_in_url() -> None:
    entry = replace(make_entry(1, username=None), channel_username='@a"b&c')
    message = render_digest([entry])[0]
    assert '<a href="https://t.me/a%22b%26c">' in message
    assert check_telegram_html(message) == []


def test_render_drops_unsafe_post_link() -> None:
    entry = replace(make_entry(1), link="javascript:alert(1)")
    message = render_digest([entry])[0]
    assert "javascript" not in message
    assert "Открыть пост" not in message


def test_render_escapes_post_link() -> None:
    entry = replace(make_entry(1), link="https://t.me/c/1?a=1&b=2")
    assert '<a href="https://t.me/c/1?a=1&amp;b=2">' in render_digest([entry])[0]


def test_render_inserts_text_html_as_is() -> None:
    text = '<b>x</b> &amp; <a href="https://example.com">y</a>'
    assert f"\n{text}\n" in render_digest([make_entry(1, text=text)])[0]


def test_render_sanitizes_invalid_text_html() -> None:
    entry = make_entry(1, text="<p>AT&T <script>x</script><b>bold")
    message = render_digest([entry])[0]
    assert "\nAT&amp;T <b>bold</b>\n" in message
    assert check_telegram_html(message) == []


# --- packing into messages -----------------------------------------------------------------------


def test_render_packs_items_at_boundaries() -> None:
    entries = [make_entry(index, text=f"Пост {index}. " + "слово " * 150) for index in range(20)]
    messages = render_digest(entries)
    assert len(messages) > 1
    assert_valid_messages(messages)
    for message in messages:
        assert message.count("Открыть пост") == message.count("Пост ")
    assert messages[1].startswith("Пост ")


def test_render_new_group_in_new_message_has_plain_title() -> None:
    entries = [
        make_entry(1, channel="a", title="Альфа", text="a " * 1900),
        make_entry(2, channel="b", title="Бета", minutes=1, text="b " * 1900),
    ]
    messages = render_digest(entries)
    assert len(messages) == 2
    assert messages[1].startswith('<b><a href="https://t.me/channel">Бета</a></b>\n')


def test_render_splits_long_item_without_repeats() -> None:
    long_text = "<b>Начало.</b> " + "Очень длинное предложение про жизнь. " * 400
    entries = [make_entry(1, text="Короткий пост."), make_entry(2, minutes=1, text=long_text)]
    messages = render_digest(entries)
    assert len(messages) >= 4
    assert_valid_messages(messages)
    for message in messages[1:]:
        assert "Канал" not in visible_text(message)
    assert messages[-1].endswith('<a href="https://t.me/channel/2">Открыть пост</a>')
    assert_same_visible_text(entries, MESSAGE_LIMIT, "ru")


def test_render_long_item_starts_in_current_message() -> None:
    entries = [make_entry(1, text="Короткий."), make_entry(2, minutes=1, text="слово " * 1000)]
    messages = render_digest(entries)
    assert len(messages) == 2
    assert "слово" in messages[0]


def test_render_long_item_without_spaces() -> None:
    entries = [make_entry(1, text="<i>" + "ж" * 20_000 + "</i>")]
    messages = render_digest(entries)
    assert len(messages) == 5
    assert_valid_messages(messages)
    assert_same_visible_text(entries, MESSAGE_LIMIT, "ru")


def test_render_long_item_with_emoji_and_entities() -> None:
    text = ("Семья 👨\u200d👩\u200d👧\u200d👦 и флаги 🇷🇺🇺🇸 &amp; &lt;теги&gt;. " * 300).strip()
    entries = [make_entry(1, text=text)]
    messages = render_digest(entries)
    assert len(messages) > 2
    assert_same_visible_text(entries, MESSAGE_LIMIT, "ru")


def test_render_exact_limit_fits_one_message() -> None:
    entry = make_entry(1, text="x")
    size = utf16_len(render_digest([entry])[0])
    filled = replace(entry, text_html="x" * (MESSAGE_LIMIT - size + 1))
    messages = render_digest([filled])
    assert [utf16_len(message) for message in messages] == [MESSAGE_LIMIT]
    over = replace(entry, text_html="x" * (MESSAGE_LIMIT - size + 2))
    assert len(render_digest([over])) == 2


def test_render_small_limit_too_small_raises() -> None:
    with pytest.raises(ValueError, match="cannot split"):
        render_digest([make_entry(1, title="Очень длинное название канала" * 3)], limit=60)


RANDOM_TEXTS = [
    "Короткое предложение.",
    "Ещё одно, подлиннее, с запятыми и тире — вот так.",
    "<b>Жирный</b> и <i>курсив</i> и <a href=\"https://example.com/?a=1&amp;b=2\">ссылка</a>.",
    "Эмодзи 😀👍🏿 и семья 👨\u200d👩\u200d👧\u200d👦 и флаг 🇷🇺.",
    "<pre><code class=\"language-python\">for i in range(3):\n    print(i)</code></pre>",
    "<blockquote>Цитата из поста с <b>жирным</b> словом.</blockquote>",
    "Сущности &amp; &lt;угловые&gt; &quot;кавычки&quot;.",
    "\n\n",
    "Длинноесловобезпробелов" * 5,
]  # fmt: skip


def random_entry(rng: random.Random, index: int) -> DigestEntry:
    channel = rng.choice(["1", "2", "3"])
    has_text = rng.random() < 0.85
    text = "".join(rng.choice(RANDOM_TEXTS) for _ in range(rng.randint(1, 80))) if has_text else ""
    return make_entry(
        index,
        channel=channel,
        title=f"Канал {channel} & <{channel}>",
        username=rng.choice([None, f"channel{channel}"]),
        minutes=rng.randint(0, 600),
        text=text.strip(),
        media=tuple(rng.sample(["photo", "video", "poll", "document"], rng.randint(0, 2))),
        description=rng.choice(["", "Вопрос опроса?", "file <1>.pdf"]),
    )


@pytest.mark.parametrize("seed", range(25))
def test_render_random_digest_property(seed: int) -> None:
    rng = random.Random(seed)
    entries = [random_entry(rng, index) for index in range(rng.randint(1, 15))]
    limit = rng.choice([MESSAGE_LIMIT, 1500, 700])
    language = rng.choice(["ru", "en"])
    assert_same_visible_text(entries, limit, language)


# --- real channel export -------------------------------------------------------------------------


def desktop_entities_to_html(entities: list[dict[str, str]]) -> str:
    """Convert the ``text_entities`` of a Telegram Desktop export message into Telegram HTML."""
    tags = {"bold": "b", "italic": "i", "code": "code", "pre": "pre", "strikethrough": "s"}
    html = []
    for entity in entities:
        text = escape_html(entity["text"])
        if entity["type"] in tags:
            text = f"<{tags[entity['type']]}>{text}</{tags[entity['type']]}>"
        elif entity["type"] == "text_link":
            text = f'<a href="{escape_html(entity["href"])}">{text}</a>'
        html.append(text)
    return "".join(html).strip()


def test_render_real_habr_export() -> None:
    if not EXPORT.exists():
        pytest.skip(f"{EXPORT} is not in the repository: the Habr export was not copied")
    export = json.loads(EXPORT.read_text(encoding="utf-8"))
    entries = []
    for message in export["messages"][:120]:
        published = datetime.fromtimestamp(int(message["date_unixtime"]), tz=UTC)
        entry = make_entry(message["id"], title=export["name"], username="habr_com")
        text = desktop_entities_to_html(message["text_entities"])
        entries.append(replace(entry, published_at=published, text_html=text))
    longest = max(entries, key=lambda entry: utf16_len(entry.text_html))
    for limit in (MESSAGE_LIMIT, 1000):
        assert_same_visible_text(entries, limit, "ru")
        assert_same_visible_text([longest], limit, "ru")


def test_render_item_with_huge_link_fits() -> None:
    href = "https://e.com/" + "b" * 4100
    entry = make_entry(1, text=f'<a href="{href}">ссылка</a> и текст')

    messages = render_digest([entry])

    assert_valid_messages(messages)
    assert "ссылка" in "".join(visible_text(message) for message in messages)
