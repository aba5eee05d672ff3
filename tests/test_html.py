"""Tests of the Telegram HTML utilities: escaping, validation, sanitizing and splitting."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from digester.html import (
    MESSAGE_LIMIT,
    check_telegram_html,
    escape_html,
    grapheme_clusters,
    sanitize_html,
    split_html,
    utf16_len,
    visible_text,
)

DATA = Path(__file__).parent / "data"
FAMILY = "👨\u200d👩\u200d👧\u200d👦"
FLAGS = "🇷🇺🇺🇸"
THUMBS_UP_DARK = "👍🏿"
ACCENTED = "е\u0301"


def assert_valid_parts(parts: list[str], limit: int) -> None:
    """Check that every part is valid Telegram HTML within ``limit`` UTF-16 units."""
    for part in parts:
        assert utf16_len(part) <= limit, part
        assert check_telegram_html(part) == [], part


def assert_cut_only_at_whitespace(original: str, parts: list[str]) -> None:
    """Check that the parts' visible texts are the original's, in order, less cut whitespace."""
    position = 0
    for part in parts:
        piece = visible_text(part).strip()
        while position < len(original) and original[position].isspace():
            position += 1
        assert original.startswith(piece, position), (piece[:40], original[position:][:40])
        position += len(piece)
    assert original[position:].strip() == ""


def assert_graphemes_intact(original: str, parts: list[str]) -> None:
    """Check that no part contains a piece of a grapheme cluster of the original text."""
    clusters = set(grapheme_clusters(original))
    for part in parts:
        assert set(grapheme_clusters(visible_text(part))) <= clusters, part


def assert_split_ok(html: str, limit: int) -> list[str]:
    parts = split_html(html, limit)
    assert_valid_parts(parts, limit)
    assert_cut_only_at_whitespace(visible_text(html), parts)
    assert_graphemes_intact(visible_text(html), parts)
    return parts


# --- escape_html, utf16_len, visible_text --------------------------------------------------------


def test_escape_html_escapes_markup_characters() -> None:
    assert escape_html('a & b <c> "d"') == "a &amp; b &lt;c&gt; &quot;d&quot;"


def test_escape_html_keeps_other_text() -> None:
    assert escape_html("Привет, 😀 'x'") == "Привет, 😀 'x'"


@pytest.mark.parametrize(
    ("text", "length"),
    [("", 0), ("abc", 3), ("Привет", 6), ("😀", 2), (FAMILY, 11), (FLAGS, 8), ("\u00a0", 1)],
)
def test_utf16_len_counts_code_units(text: str, length: int) -> None:
    assert utf16_len(text) == length
    assert utf16_len(text) == len(text.encode("utf-16-le")) // 2


def test_visible_text_removes_tags_and_decodes_entities() -> None:
    html = '<b>a &amp; b</b> &lt;3 &#128512;&#x1F600; <a href="https://x.org">l</a>'
    assert visible_text(html) == "a & b <3 😀😀 l"


def test_visible_text_leaves_unsupported_entity() -> None:
    assert visible_text("a&nbsp;b &quot;q&quot;") == 'a&nbsp;b "q"'


# --- check_telegram_html -------------------------------------------------------------------------

VALID_HTML = [
    "plain text",
    "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins>",
    "<s>s</s><strike>k</strike><del>d</del>",
    '<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>',
    '<a href="https://example.com/?a=1&amp;b=2">link</a> <a href="tg://user?id=1">u</a>',
    "<a href=\"mailto:a@example.com\">mail</a> <a href='http://example.com'>single</a>",
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    "<code>x &lt; y</code>",
    "<pre>block</pre>",
    '<pre><code class="language-python">print("hi")</code></pre>',
    "<blockquote>quote</blockquote><blockquote expandable>more</blockquote>",
    "<b>bold <i>italic <u>under <s>strike <tg-spoiler>spoiler</tg-spoiler></s></u></i></b>",
    '<b><a href="https://x.org">bold link</a></b> <a href="https://x.org"><i>it</i></a>',
    "<blockquote><b>b</b> <pre>p</pre> <code>c</code></blockquote>",
    "<B>upper case</B> <b >space before &gt;</b >",
    "&lt; &gt; &amp; &quot; &#65; &#x41; &#X1F600;",
    "bare > is fine",
    "\n  text with outer whitespace \n",
]


@pytest.mark.parametrize("html", VALID_HTML)
def test_check_accepts_valid_html(html: str) -> None:
    assert check_telegram_html(html) == []


INVALID_HTML = [
    ("<br>", "unsupported tag <br>"),
    ("a<p>b</p>", "unsupported tag <p>"),
    ("x</font>", "unsupported tag </font>"),
    ('<b class="x">b</b>', "unsupported attribute 'class'"),
    ('<a href="https://x.org" onclick="f()">a</a>', "unsupported attribute 'onclick'"),
    ('<a href="https://x.org" href="https://y.org">a</a>', "duplicate attribute 'href'"),
    ("<a>a</a>", "missing attribute 'href'"),
    ('<a href="javascript:alert(1)">a</a>', "invalid href"),
    ('<a href="/relative">a</a>', "invalid href"),
    ('<a href="">a</a>', "invalid href"),
    ("<a href=https://x.org>a</a>", "unquoted value"),
    ('<span class="other">a</span>', "invalid class 'other'"),
    ("<span>a</span>", "missing attribute 'class'"),
    ('<tg-emoji emoji-id="abc">👍</tg-emoji>', "invalid emoji-id"),
    ("<tg-emoji>👍</tg-emoji>", "missing attribute 'emoji-id'"),
    ('<code class="language-python">x</code>', "only allowed on <code> directly inside <pre>"),
    ('<pre><code class="python">x</code></pre>', "expected language-NAME"),
    ('<blockquote expandable="yes">q</blockquote>', "takes no value"),
    ("<b>x</b x>", "has attributes"),
    ("<b>unclosed", "unclosed tag <b>"),
    ("stray</b>", "unexpected end tag </b>"),
    ("<b>x</i>", "unexpected end tag </i>"),
    ("<b><i>x</b></i>", "misnested tags"),
    ("<b><code>x</code></b>", "<code> cannot be nested inside <b>"),
    ("<code><b>x</b></code>", "<b> cannot be nested inside <code>"),
    ("<pre><i>x</i></pre>", "<i> cannot be nested inside <pre>"),
    ('<a href="https://x.org"><a href="https://y.org">x</a></a>', "<a> cannot be nested"),
    ("<blockquote><blockquote>x</blockquote></blockquote>", "<blockquote> cannot be nested"),
    ("<pre><b><code>x</code></b></pre>", "cannot be nested"),
    ("a < b", "unescaped '<'"),
    ("<b/>x", "unescaped '<' or malformed tag"),
    ("<>x", "unescaped '<'"),
    ("AT&T", "unescaped '&'"),
    ("&amp without semicolon", "unescaped '&'"),
    ('<a href="https://x.org/?a=1&b=2">a</a>', "unescaped '&'"),
    ("a&nbsp;b", "unsupported entity &nbsp;"),
    ("&#0;", "invalid numeric entity"),
    ("&#xD800;", "invalid numeric entity"),
    ("&#x110000;", "invalid numeric entity"),
    ("lone \ud800 surrogate", "lone surrogate"),
    ("", "empty message"),
    (" \n\t ", "empty message"),
    ("<b> </b>", "empty message"),
]


@pytest.mark.parametrize(("html", "problem"), INVALID_HTML)
def test_check_reports_problem(html: str, problem: str) -> None:
    problems = check_telegram_html(html)
    assert any(problem in reported for reported in problems), problems


def test_check_reports_offset() -> None:
    assert check_telegram_html("ok <br> ok") == ["unsupported tag <br> at offset 3"]


# --- sanitize_html -------------------------------------------------------------------------------

SANITIZE_CASES = [
    ("plain", "plain"),
    ("<strong>s</strong> <em>e</em> <ins>u</ins>", "<b>s</b> <i>e</i> <u>u</u>"),
    ("<strike>a</strike><del>b</del>", "<s>a</s><s>b</s>"),
    ('<span class="tg-spoiler">x</span>', "<tg-spoiler>x</tg-spoiler>"),
    ('<span class="big">x</span> y', "x y"),
    ("a<br>b<br/>c</br>d", "a\nb\nc\nd"),
    ("<p>one</p><p>two</p>", "one\n\ntwo"),
    ("<div>one</div><div>two</div>", "one\ntwo"),
    ("<h2>Title</h2>text", "Title\n\ntext"),
    ("<ul>\n  <li>one</li>\n  <li>two</li>\n</ul>", "• one\n• two"),
    ("<script>alert(1)</script>visible<style>b{}</style>", "visible"),
    ("<unknown>kept</unknown> <font color=red>too</font>", "kept too"),
    ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
    ("&lt;b&gt; &amp;amp; &quot;", "&lt;b&gt; &amp;amp; &quot;"),
    ("a&nbsp;x&copy;", "a\u00a0x©"),
    ('<a href="javascript:alert(1)">click</a>', "click"),
    ('<a href=" JaVaScRiPt:alert(1)">click</a>', "click"),
    ('<a href="java\tscript:alert(1)">click</a>', "click"),
    ('<a href="data:text/html,x">click</a>', "click"),
    ('<a href="/relative/path">click</a>', "click"),
    ("<a href>empty</a>", "empty"),
    (
        '<a href="https://x.org/?a=1&b=2" onclick="steal()" target="_blank">ok</a>',
        '<a href="https://x.org/?a=1&amp;b=2">ok</a>',
    ),
    ('<a href="tg://resolve?domain=x">tg</a>', '<a href="tg://resolve?domain=x">tg</a>'),
    ("<b>open <i>both", "<b>open <i>both</i></b>"),
    ("</b>stray</i> closers", "stray closers"),
    ("<b><i>x</b>y</i>", "<b><i>x</i></b><i>y</i>"),
    ("<code><b>x</b></code>", "<code>x</code>"),
    ("<b><code>x</code></b>", "<b>x</b>"),
    ('<a href="https://a.org"><a href="https://b.org">x</a></a>', '<a href="https://a.org">x</a>'),
    (
        '<pre><code class="hljs language-python">if a &lt; b:\n    pass</code></pre>',
        '<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>',
    ),
    ('<code class="language-python">x</code>', "<code>x</code>"),
    ("x<blockquote expandable>q</blockquote>y", "x\n<blockquote expandable>q</blockquote>\ny"),
    ("<blockquote>a<blockquote>b</blockquote></blockquote>", "<blockquote>ab</blockquote>"),
    (
        '<tg-emoji emoji-id="5368324170671202286"><i class="emoji" style="background-image:'
        "url('//telegram.org/img/emoji/40/F09F918D.png')\"><b>👍</b></i></tg-emoji> ok",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> ok',
    ),
    ('<i class="emoji" style="background:url(\'x\')"><b>🙂</b></i> hi', "🙂 hi"),
    ('<tg-emoji emoji-id="nope">🙂</tg-emoji>', "🙂"),
    ("a\n\n\n\n\nb", "a\n\nb"),
    ("a\n \n \n \nb", "a\n\nb"),
    ("a<br><br><br><br>b", "a\n\nb"),
    ("a\n\n<b>\n\nb</b>", "a\n<b>\nb</b>"),
    ("  \n <b> </b> x \n ", "x"),
    ("<b></b><i> </i>", ""),
    ("a\r\nb\x00c", "a\nbc"),
    ("<!-- comment -->text<!DOCTYPE html>", "text"),
    ("<b> bold </b>text", "<b>bold </b>text"),
    ("intro<pre>  indented\ncode</pre>", "intro\n<pre>  indented\ncode</pre>"),
    ("<pre><p>a</p><div>b</div></pre>", "<pre>a\n\nb</pre>"),
]


@pytest.mark.parametrize(("html", "expected"), SANITIZE_CASES)
def test_sanitize_converts(html: str, expected: str) -> None:
    assert sanitize_html(html) == expected


@pytest.mark.parametrize(("html", "expected"), SANITIZE_CASES)
def test_sanitize_is_idempotent_on_cases(html: str, expected: str) -> None:
    once = sanitize_html(html)
    assert sanitize_html(once) == once


@pytest.mark.parametrize(("html", "expected"), [case for case in SANITIZE_CASES if case[1]])
def test_sanitize_output_passes_check(html: str, expected: str) -> None:
    assert check_telegram_html(sanitize_html(html)) == []


SOUP_PIECES = [
    "<b>", "</b>", "<i>", "</i>", "<strong>", "</em>", "<u>", "</s>", "<del>", "<p>", "</p>",
    "<div>", "</div>", "<br>", "<br/>", "<li>", "<ul>", "</ul>", "<h1>", "</h1>", "<span>",
    '<span class="tg-spoiler">', "</span>", "<tg-spoiler>", "</tg-spoiler>", "<code>",
    "</code>", "<pre>", "</pre>", '<code class="language-go">', "<blockquote>",
    "<blockquote expandable>", "</blockquote>", '<a href="https://x.org/?a=1&b=2">',
    '<a href="javascript:void(0)">', "<a href>", "</a>", '<tg-emoji emoji-id="123">',
    "</tg-emoji>", '<i class="emoji">', "<script>", "</script>", "<style>", "</style>",
    "<font>", "</font>", "<", ">", "&", "&amp;", "&lt;", "&nbsp;", "&#128512;", "&bogus;",
    '"', "'", " ", "  ", "\n", "\n\n", "\n\n\n", "\t", "word", "слово", "😀", FAMILY, FLAGS,
    ACCENTED, ".", "\u00a0", "\r\n",
]  # fmt: skip


def random_soup(rng: random.Random) -> str:
    return "".join(rng.choice(SOUP_PIECES) for _ in range(rng.randint(1, 40)))


def test_sanitize_random_soup_is_valid_and_idempotent() -> None:
    rng = random.Random(20241204)
    for _ in range(2000):
        soup = random_soup(rng)
        once = sanitize_html(soup)
        assert sanitize_html(once) == once, soup
        if visible_text(once).strip():
            assert check_telegram_html(once) == [], (soup, once)
        else:
            assert once == "", soup


def test_sanitize_keeps_visible_words() -> None:
    html = "<div><p>Один <b>два</b></p><script>три</script><unknown>четыре</unknown></div>"
    assert visible_text(sanitize_html(html)).split() == ["Один", "два", "четыре"]


def test_sanitize_saved_web_preview_page() -> None:
    page = DATA / "web_preview" / "full.html"
    if not page.exists():
        pytest.skip(f"{page} is not in the repository")
    once = sanitize_html(page.read_text(encoding="utf-8"))
    assert check_telegram_html(once) == []
    assert sanitize_html(once) == once
    assert "<script" not in once


# --- split_html ----------------------------------------------------------------------------------


def test_split_exact_limit_is_one_part() -> None:
    html = "a" * MESSAGE_LIMIT
    assert split_html(html) == [html]


def test_split_one_over_limit_is_two_parts() -> None:
    parts = assert_split_ok("a" * (MESSAGE_LIMIT + 1), MESSAGE_LIMIT)
    assert len(parts) == 2
    assert [utf16_len(part) for part in parts] == [MESSAGE_LIMIT, 1]


def test_split_counts_astral_emoji_as_two_units() -> None:
    html = "😀" * (MESSAGE_LIMIT // 2)
    assert split_html(html) == [html]
    parts = assert_split_ok(html + "a", MESSAGE_LIMIT)
    assert len(parts) == 2


def test_split_counts_markup_in_the_limit() -> None:
    html = "<b>" + "a" * (MESSAGE_LIMIT - 7) + "</b>"
    assert split_html(html) == [html]
    parts = assert_split_ok("<b>" + "a" * (MESSAGE_LIMIT - 6) + "</b>", MESSAGE_LIMIT)
    assert len(parts) == 2


@pytest.mark.parametrize("emoji", [FAMILY, FLAGS, THUMBS_UP_DARK, ACCENTED, "1\ufe0f\u20e3"])
@pytest.mark.parametrize("shift", range(12))
def test_split_keeps_emoji_sequences_whole(emoji: str, shift: int) -> None:
    limit = 50
    html = "x" * (limit - 10 + shift) + emoji * 10
    parts = assert_split_ok(html, limit)
    assert "".join(visible_text(part) for part in parts) == html


@pytest.mark.parametrize("shift", range(8))
def test_split_keeps_entities_whole(shift: int) -> None:
    limit = 40
    html = "x" * (limit - 6 + shift) + "&amp;&lt;&#128512;&quot;" * 4
    parts = assert_split_ok(html, limit)
    assert "".join(visible_text(part) for part in parts) == visible_text(html)


def test_split_reopens_nested_tags() -> None:
    words = " ".join(f"word{index}" for index in range(40))
    html = f"before <b><i>{words}</i></b> after"
    parts = assert_split_ok(html, 80)
    assert len(parts) > 2
    for part in parts[1:-1]:
        assert part.startswith("<b><i>")
        assert part.endswith("</i></b>")


def test_split_reopens_link_with_same_href() -> None:
    anchor = '<a href="https://example.com/?a=1&amp;b=2">'
    html = f"{anchor}{' '.join(['long link text'] * 20)}</a>"
    parts = assert_split_ok(html, 100)
    assert len(parts) > 2
    for part in parts:
        assert part.startswith(anchor)
        assert part.endswith("</a>")


def test_split_pre_block_at_lines() -> None:
    lines = [f"print({index} * {index})  # line {index}" for index in range(30)]
    opening = '<pre><code class="language-python">'
    html = opening + "\n".join(lines) + "</code></pre>"
    parts = assert_split_ok(html, 300)
    assert len(parts) > 2
    for part in parts:
        assert part.startswith(opening)
        assert part.endswith("</code></pre>")
        assert set(visible_text(part).split("\n")) <= set(lines)


def test_split_twenty_thousand_character_word() -> None:
    html = "ж" * 20_000
    parts = assert_split_ok(html, MESSAGE_LIMIT)
    assert [utf16_len(part) for part in parts] == [4096] * 4 + [20_000 - 4 * 4096]
    assert "".join(parts) == html


def test_split_text_without_spaces_in_tags() -> None:
    html = "<b>" + "абв" * 3000 + "</b>"
    parts = assert_split_ok(html, MESSAGE_LIMIT)
    assert len(parts) == 3
    assert all(part.startswith("<b>") and part.endswith("</b>") for part in parts)


def test_split_prefers_paragraph_over_line() -> None:
    html = "a" * 50 + "\n\n" + "b" * 10 + "\n" + "c" * 5 + " " + "d" * 40
    assert split_html(html, 80) == ["a" * 50, "b" * 10 + "\n" + "c" * 5 + " " + "d" * 40]


def test_split_prefers_line_over_sentence() -> None:
    html = "One. Two " + "a" * 25 + "\nThree. Four. " + "b" * 40
    assert split_html(html, 60)[0] == "One. Two " + "a" * 25


def test_split_prefers_sentence_over_word() -> None:
    html = "First sentence here. Second sentence is longer than that one."
    assert split_html(html, 40) == [
        "First sentence here.",
        "Second sentence is longer than that one.",
    ]


def test_split_sentence_end_before_closing_quote() -> None:
    html = "Он сказал: «Привет!» Потом ушёл домой и больше не вернулся."
    assert split_html(html, 40)[0] == "Он сказал: «Привет!»"


def test_split_prefers_word_over_anywhere() -> None:
    html = "alpha beta gamma delta epsilon"
    assert split_html(html, 20) == ["alpha beta gamma", "delta epsilon"]


def test_split_skips_early_paragraph_break() -> None:
    html = "Title\n\n" + "word " * 30
    parts = split_html(html, 80)
    assert parts[0].startswith("Title\n\nword")


def test_split_does_not_cut_at_no_break_space() -> None:
    html = "a" * 10 + "\u00a0" + "b" * 10
    parts = split_html(html, 15)
    assert parts == ["a" * 10 + "\u00a0" + "b" * 4, "b" * 6]


def test_split_never_cuts_inside_custom_emoji() -> None:
    emoji = '<tg-emoji emoji-id="1">👍 👍</tg-emoji>'
    html = "x" * 20 + emoji + "y" * 20
    for limit in range(utf16_len(emoji) + 1, 70):
        for part in assert_split_ok(html, limit):
            assert "tg-emoji" not in part or emoji in part


def test_split_drops_trailing_whitespace_part() -> None:
    html = "word " * 10 + " " * 50
    parts = assert_split_ok(html, 30)
    assert parts[-1].strip() == parts[-1]


def test_split_first_limit_applies_to_first_part() -> None:
    parts = split_html("word " * 40, 100, first_limit=20)
    assert utf16_len(parts[0]) <= 20
    assert all(utf16_len(part) <= 100 for part in parts[1:])
    assert len(parts) == 3


def test_split_rejects_invalid_html() -> None:
    with pytest.raises(ValueError, match="invalid Telegram HTML"):
        split_html("<b>unclosed " * 100, 50)


def test_split_rejects_limit_smaller_than_open_tags() -> None:
    anchor = '<a href="https://example.com/some/long/path">'
    html = anchor + "word " * 30 + "</a>"
    limit = utf16_len(anchor) + len("w</a>") - 1
    with pytest.raises(ValueError, match="cannot split"):
        split_html(html, limit)


def test_split_real_russian_post() -> None:
    export = DATA / "channel_exports" / "habr.json"
    if not export.exists():
        pytest.skip(f"{export} is not in the repository: the Habr export was not copied")
    messages = json.loads(export.read_text(encoding="utf-8"))["messages"]
    longest = max(
        messages, key=lambda message: sum(len(e["text"]) for e in message["text_entities"])
    )
    html = desktop_entities_to_html(longest["text_entities"])
    assert check_telegram_html(html) == []
    for limit in (4096, 1000, 300):
        parts = assert_split_ok(html, limit)
        assert len(parts) >= (utf16_len(html) + limit - 1) // limit


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
    return "".join(html)


# --- split_html property test with seeded random Telegram HTML -----------------------------------

TEXT_PIECES = [
    "слово", "word", "Ёжик", " ", " ", " ", "\n", "\n\n", ". ", "! ", "? ", "… ", "&amp;",
    "&lt;", "&gt;", "&quot;", "&#128512;", "&#x1F44D;", "😀", FAMILY, FLAGS, THUMBS_UP_DARK,
    ACCENTED, "\u00a0", "x" * 30, "длинноеслово" * 4,
]  # fmt: skip
FORMATTING = ["b", "i", "u", "s", "tg-spoiler", "strong", "em"]


def random_telegram_html(
    rng: random.Random, depth: int = 0, inside: frozenset[str] = frozenset()
) -> str:
    """Return random valid Telegram HTML built from text pieces and nestable elements."""
    pieces = []
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        if choice < 0.6 or depth >= 3:
            pieces.append("".join(rng.choice(TEXT_PIECES) for _ in range(rng.randint(1, 12))))
        else:
            pieces.append(random_element(rng, depth, inside))
    return "".join(pieces)


def random_element(rng: random.Random, depth: int, inside: frozenset[str]) -> str:
    """Return one random element that the Bot API allows inside the ``inside`` markers."""
    options = ["formatting", "spoiler_span"]
    if "a" not in inside:
        options += ["link", "custom_emoji"]
        if "formatting" not in inside:
            options += ["code", "pre", "pre_code"]
        if "blockquote" not in inside:
            options.append("blockquote")
    kind = rng.choice(options)

    text = "".join(rng.choice(TEXT_PIECES) for _ in range(rng.randint(1, 12)))
    leaves = {
        "code": f"<code>{text}</code>",
        "pre": f"<pre>{text}</pre>",
        "pre_code": f'<pre><code class="language-python">{text}</code></pre>',
        "custom_emoji": f'<tg-emoji emoji-id="{rng.randint(1, 10**18)}">👍</tg-emoji>',
    }
    if kind in leaves:
        return leaves[kind]

    if kind == "link":
        tag, opening = "a", f'<a href="https://example.com/{rng.randint(0, 99)}?a=1&amp;b=2">'
    elif kind == "blockquote":
        tag, opening = "blockquote", rng.choice(["<blockquote>", "<blockquote expandable>"])
    elif kind == "spoiler_span":
        tag, opening = "span", '<span class="tg-spoiler">'
    else:
        tag = rng.choice(FORMATTING)
        opening = f"<{tag}>"
    marker = "formatting" if kind in ("formatting", "spoiler_span") else tag
    inner = random_telegram_html(rng, depth + 1, inside | {marker})
    return f"{opening}{inner}</{tag}>"


def test_split_random_html_property() -> None:
    rng = random.Random(4096)
    checked = 0
    while checked < 400:
        html = random_telegram_html(rng)
        if not visible_text(html).strip():
            continue
        assert check_telegram_html(html) == [], html
        limit = rng.randint(120, 600)
        assert_split_ok(html, limit)
        checked += 1
