"""Splitting of valid Telegram HTML into parts under a UTF-16 length limit.

The text is cut into units: tags, and grapheme clusters of visible text with their source
(an entity such as ``&amp;`` belongs to the cluster of its character). A part ends only
between units. Tags open at a cut are closed at the end of the part and reopened, with the
same attributes, at the start of the next one.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from digester._html_tokens import Tag, iter_characters, tokenize, utf16_len

# Ranks of cut points, best first. A cut after the last visible text beats them all.
_FINAL, _PARAGRAPH, _LINE, _SENTENCE, _WORD, _ANYWHERE = range(-1, 5)
_SENTENCE_ENDS = frozenset(".!?…")
_CLOSING_PUNCTUATION = "\"'»”’)]"
_NO_BREAK_SPACES = frozenset("\u00a0\u2007\u202f\u2060")
_ZWJ = "\u200d"


@dataclass(frozen=True, slots=True)
class _Unit:
    """A tag, or a grapheme cluster with its visible ``text`` and HTML ``raw`` source."""

    raw: str
    text: str
    tag: Tag | None


@dataclass(frozen=True, slots=True)
class _Cut:
    """A cut point: the part ends before ``units[end]``, the next starts at ``units[resume]``.

    Units between the two are whitespace and tags, and the reopened tags replace those tags.
    """

    end: int
    resume: int
    rank: int


class _Layout:
    """Units of one text with prefix sums: source size, reopen and close cost, visible units."""

    def __init__(self, html: str) -> None:
        self.units = _units(html)
        self.stacks: list[tuple[Tag, ...]] = [()]
        self.offsets = [0]
        self.open_costs = [0]
        self.close_costs = [0]
        self.visible = [0]
        for unit in self.units:
            self._advance(unit)
        self.cuts = _cut_points(self.units, self.stacks)
        self.cut_ends = [cut.end for cut in self.cuts]

    def _advance(self, unit: _Unit) -> None:
        stack, open_cost, close_cost = self.stacks[-1], self.open_costs[-1], self.close_costs[-1]
        tag = unit.tag
        if tag is not None and tag.closing:
            opened = stack[-1]
            stack = stack[:-1]
            open_cost -= utf16_len(opened.raw)
            close_cost -= len(opened.name) + 3
        elif tag is not None:
            stack = (*stack, tag)
            open_cost += utf16_len(tag.raw)
            close_cost += len(tag.name) + 3
        self.stacks.append(stack)
        self.open_costs.append(open_cost)
        self.close_costs.append(close_cost)
        self.offsets.append(self.offsets[-1] + utf16_len(unit.raw))
        self.visible.append(self.visible[-1] + (tag is None and not _is_space(unit.text)))

    def part(self, start: int, end: int) -> str:
        """Return units ``start:end`` as HTML, with the tags open at either side balanced."""
        opening = "".join(tag.raw for tag in self.stacks[start])
        body = "".join(unit.raw for unit in self.units[start:end])
        closing = "".join(f"</{tag.name}>" for tag in reversed(self.stacks[end]))
        return opening + body + closing

    def choose_cut(self, start: int, limit: int) -> _Cut | None:
        """Return the best-ranked, then furthest, cut whose part from ``start`` fits ``limit``.

        Cuts that fill at least half of the room come first, so that an early blank line
        does not leave a part nearly empty when a line or sentence end is found later.
        """
        budget = limit - self.open_costs[start]
        last_end = bisect_right(self.offsets, self.offsets[start] + budget) - 1
        first = bisect_right(self.cut_ends, start)
        best: dict[int, _Cut] = {}
        below_half = False
        for cut in reversed(self.cuts[first : bisect_right(self.cut_ends, last_end)]):
            size = self._size(start, cut.end)
            if not below_half and size < budget // 2:
                if best:
                    break
                below_half = True
            rank = _FINAL if self.visible[cut.resume] == self.visible[-1] else cut.rank
            if rank in best or size > budget or self.visible[cut.end] == self.visible[start]:
                continue
            best[rank] = _Cut(cut.end, cut.resume, rank)
            if rank <= _PARAGRAPH:
                break
        return best[min(best)] if best else None

    def _size(self, start: int, end: int) -> int:
        """Return the UTF-16 length of units ``start:end`` with the end tags that close them."""
        return self.offsets[end] - self.offsets[start] + self.close_costs[end]


def split(html: str, limit: int, first_limit: int) -> list[str]:
    """Split valid Telegram HTML into parts; see ``digester.html.split_html``."""
    if utf16_len(html) <= first_limit:
        return [html]
    layout = _Layout(html)
    parts: list[str] = []
    start = 0
    while True:
        part_limit = first_limit if not parts else limit
        if layout.offsets[-1] - layout.offsets[start] + layout.open_costs[start] <= part_limit:
            parts.append(layout.part(start, len(layout.units)))
            return parts
        cut = layout.choose_cut(start, part_limit)
        if cut is None:
            raise ValueError(
                f"cannot split HTML at UTF-16 offset {layout.offsets[start]} into parts of at "
                f"most {part_limit} UTF-16 units: the tags open there and the next grapheme "
                "cluster do not fit. Use a larger limit."
            )
        parts.append(layout.part(start, cut.end))
        if cut.rank == _FINAL:
            return parts
        start = cut.resume


def _units(html: str) -> list[_Unit]:
    units: list[_Unit] = []
    for token in tokenize(html):
        if isinstance(token, Tag):
            units.append(_Unit(token.raw, "", token))
        else:
            units.extend(_Unit(raw, text, None) for raw, text in clusters(token.raw))
    return units


def _cut_points(units: list[_Unit], stacks: list[tuple[Tag, ...]]) -> list[_Cut]:
    """List every allowed cut, ordered by ``end``: whitespace runs and grapheme boundaries."""
    cuts: list[_Cut] = []
    tail = ""
    after_space = False
    index = 0
    while index < len(units):
        unit = units[index]
        if unit.tag is None and not _is_space(unit.text):
            # Right after a space the space's own cut is better.
            cut = None if after_space else _grapheme_cut(units, stacks, index)
            if cut is not None:
                cuts.append(cut)
            tail = (tail + unit.text)[-4:]
            after_space = False
            index += 1
            continue
        run_end = index
        while run_end < len(units) and (units[run_end].tag or _is_space(units[run_end].text)):
            run_end += 1
        spaces = "".join(unit.text for unit in units[index:run_end])
        if spaces and not _splits_custom_emoji(stacks[index], stacks[run_end]):
            cuts.append(_Cut(index, run_end, _space_rank(spaces, tail)))
        after_space = bool(spaces)
        index = run_end
    return cuts


def _grapheme_cut(units: list[_Unit], stacks: list[tuple[Tag, ...]], index: int) -> _Cut | None:
    """Return the cut before the cluster at ``index``, moved before the start tags preceding it."""
    end = index
    while end > 0 and (tag := units[end - 1].tag) is not None and not tag.closing:
        end -= 1
    if end == 0 or _splits_custom_emoji(stacks[end], stacks[end]):
        return None
    return _Cut(end, end, _ANYWHERE)


def _space_rank(spaces: str, tail: str) -> int:
    newlines = spaces.count("\n")
    if newlines >= 2:
        return _PARAGRAPH
    if newlines == 1:
        return _LINE
    if tail.rstrip(_CLOSING_PUNCTUATION)[-1:] in _SENTENCE_ENDS:
        return _SENTENCE
    return _WORD


def _splits_custom_emoji(before: tuple[Tag, ...], after: tuple[Tag, ...]) -> bool:
    """Tell whether a cut between these open-tag stacks puts one tg-emoji into two parts."""
    return any(tag.name == "tg-emoji" and tag in after for tag in before)


def _is_space(text: str) -> bool:
    return text.isspace() and not _NO_BREAK_SPACES.intersection(text)


def clusters(raw: str) -> list[tuple[str, str]]:
    """Group the characters of HTML source text into ``(source, text)`` grapheme clusters."""
    return _group_clusters(iter_characters(raw))


def grapheme_clusters(text: str) -> list[str]:
    """Split plain text into grapheme clusters, the units that ``split_html`` never cuts."""
    return [cluster for _, cluster in _group_clusters((char, char) for char in text)]


def _group_clusters(characters: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Group ``(source, character)`` pairs into ``(source, text)`` grapheme clusters.

    A simplified form of the Unicode extended grapheme cluster rules (UAX #29): combining
    marks, ZWJ sequences, variation selectors, skin-tone modifiers, emoji tag sequences, CR LF,
    Hangul vowel and final jamo, and regional-indicator pairs stay with their base character.
    """
    grouped: list[tuple[str, str]] = []
    previous = ""
    indicators = 0
    for source, char in characters:
        if grouped and _continues_cluster(previous, char, indicators):
            last_source, last_text = grouped[-1]
            grouped[-1] = (last_source + source, last_text + char)
        else:
            grouped.append((source, char))
        indicators = indicators + 1 if _is_regional_indicator(char) else 0
        previous = char
    return grouped


def _continues_cluster(previous: str, char: str, indicators: int) -> bool:
    if previous in ("\r", "\n") or char in ("\r", "\n"):
        return previous == "\r" and char == "\n"
    if previous == _ZWJ or _is_extension(char):
        return True
    return _is_regional_indicator(char) and indicators % 2 == 1


def _is_extension(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in (_ZWJ, "\u200c")
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1160 <= code <= 0x11FF
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF
