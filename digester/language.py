"""Script-based language detection, enough to tell a Russian post from an English rewrite."""

from __future__ import annotations

import unicodedata

CYRILLIC = "cyrillic"
LATIN = "latin"
UNKNOWN = "unknown"

# Share of letters a script needs to be the text's script. Mixed Russian posts often quote
# English names and terms, so the threshold leaves room for them.
DOMINANT_SHARE = 0.6
MIN_LETTERS = 12


def detect_script(text: str) -> str:
    """Return the dominant alphabet of a text: ``cyrillic``, ``latin`` or ``unknown``."""
    cyrillic = latin = 0
    for char in text:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        if name.startswith("CYRILLIC"):
            cyrillic += 1
        elif name.startswith("LATIN"):
            latin += 1
    letters = cyrillic + latin
    if letters < MIN_LETTERS:
        return UNKNOWN
    if cyrillic / letters >= DOMINANT_SHARE:
        return CYRILLIC
    if latin / letters >= DOMINANT_SHARE:
        return LATIN
    return UNKNOWN


def same_language(source: str, rewrite: str) -> bool:
    """Tell whether a rewrite keeps the alphabet of its source; short texts always pass."""
    source_script = detect_script(source)
    rewrite_script = detect_script(rewrite)
    if UNKNOWN in (source_script, rewrite_script):
        return True
    return source_script == rewrite_script
