"""Whitespace and empty-element clean-up of the sanitizer's output segments.

Block boundaries become newlines, blank lines beyond one and the outer whitespace of the
text are deleted, and elements left empty are dropped. Other whitespace stays where the
source put it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from digester._html_tokens import MONOSPACE_KINDS, escape_html

BREAK = "break"
"""Kind of a segment that marks a block boundary: at least ``newlines`` newlines go there."""

# Blank lines: three or more newlines with nothing but other whitespace between them.
_BLANK_LINES_RE = re.compile(r"\n(?:[^\S\n]*\n){2,}")


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of output: decoded text when ``kind`` is None, else a tag as HTML or a break."""

    text: str
    kind: str | None = None
    closing: bool = False
    newlines: int = 0


def render(segments: list[Segment]) -> str:
    """Clean up whitespace and empty elements, then join the segments into Telegram HTML."""
    segments = _prune_empty(_delete_whitespace(_resolve_breaks(segments)))
    return "".join(escape_html(s.text) if s.kind is None else s.text for s in segments)


def _resolve_breaks(segments: list[Segment]) -> list[Segment]:
    """Replace each whitespace run that contains breaks with just its newlines.

    A run is the whitespace, tags and breaks between two pieces of visible text. Like a
    browser, this drops the spaces around a block boundary, and the run keeps as many
    newlines as it had or as its breaks ask for, whichever is more.
    """
    output: list[Segment] = []
    run: list[int] = []
    for segment, is_space in _split_edge_whitespace(segments):
        if not is_space:
            _settle_run(output, run)
            run = []
        else:
            run.append(len(output))
        output.append(segment)
    _settle_run(output, run)
    return [s for s in output if s.kind != BREAK and (s.kind is not None or s.text)]


def _split_edge_whitespace(segments: list[Segment]) -> list[tuple[Segment, bool]]:
    """Return segments, each with a flag for run members, and text split off its edge whitespace.

    Text inside ``pre`` and ``code`` is never a run member, because its whitespace is code,
    and a break there becomes plain newlines.
    """
    pieces: list[tuple[Segment, bool]] = []
    monospace_depth = 0
    for segment in segments:
        if segment.kind in MONOSPACE_KINDS:
            monospace_depth += -1 if segment.closing else 1
        if segment.kind == BREAK and monospace_depth:
            pieces.append((Segment("\n" * segment.newlines), False))
        elif segment.kind is not None:
            pieces.append((segment, True))
        elif monospace_depth:
            pieces.append((segment, False))
        else:
            body = segment.text.strip()
            leading = segment.text[: len(segment.text) - len(segment.text.lstrip())]
            trailing = segment.text[len(leading) + len(body) :]
            pieces += [(Segment(leading), True), (Segment(body), False), (Segment(trailing), True)]
    return [(segment, is_space) for segment, is_space in pieces if segment.kind or segment.text]


def _settle_run(output: list[Segment], run: list[int]) -> None:
    breaks = [output[i] for i in run if output[i].kind == BREAK]
    if not breaks:
        return
    spaces = [i for i in run if output[i].kind is None]
    present = sum(output[i].text.count("\n") for i in spaces)
    newlines = max(present, *(segment.newlines for segment in breaks))
    for index in spaces:
        output[index] = Segment("")
    target = spaces[0] if spaces else next(i for i in run if output[i].kind == BREAK)
    output[target] = Segment("\n" * newlines)


def _delete_whitespace(segments: list[Segment]) -> list[Segment]:
    """Strip the outer whitespace of the visible text and cut blank lines beyond one."""
    visible = "".join(segment.text for segment in segments if segment.kind is None)
    deleted: set[int] = set()
    for match in _BLANK_LINES_RE.finditer(visible):
        deleted.update(range(match.start() + 1, match.end() - 1))
    deleted.update(range(len(visible) - len(visible.lstrip())))
    deleted.update(range(len(visible.rstrip()), len(visible)))
    output: list[Segment] = []
    position = 0
    for segment in segments:
        if segment.kind is not None:
            output.append(segment)
            continue
        remaining = "".join(
            char for index, char in enumerate(segment.text, position) if index not in deleted
        )
        position += len(segment.text)
        if remaining:
            output.append(Segment(remaining))
    return output


def _prune_empty(segments: list[Segment]) -> list[Segment]:
    """Drop elements with nothing inside, innermost first."""
    output: list[Segment] = []
    for segment in segments:
        previous = output[-1] if output else None
        if segment.closing and previous is not None and previous.kind and not previous.closing:
            output.pop()
        else:
            output.append(segment)
    return output
