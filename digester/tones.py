"""Built-in tones: the ways a post can be rewritten, seeded into every database."""

from __future__ import annotations

from dataclasses import dataclass

from digester.models import Tone

AS_IS = "as_is"


@dataclass(frozen=True, slots=True)
class BuiltinTone:
    code: str
    title_ru: str
    title_en: str
    instruction: str


BUILTIN_TONES: tuple[BuiltinTone, ...] = (
    BuiltinTone(AS_IS, "Как есть", "As is", "Deliver the post unchanged."),
    BuiltinTone(
        "brief",
        "Кратко",
        "Brief",
        "Retell the post in two or three short sentences: the main fact first, then why it "
        "matters. Keep names, numbers and dates exactly as in the post.",
    ),
    BuiltinTone(
        "neutral",
        "Нейтрально",
        "Neutral news",
        "Rewrite the post as a neutral news item: facts only, no emotional words, no "
        "advertising, no calls to action, no emoji.",
    ),
    BuiltinTone(
        "ironic",
        "С иронией",
        "Ironic",
        "Retell the post with light, good-natured irony. Keep every fact accurate and do not "
        "mock people for who they are.",
    ),
    BuiltinTone(
        "simple",
        "Простыми словами",
        "Explain simply",
        "Explain the post in plain words to a reader with no background in the subject: "
        "replace jargon with everyday words and add a short explanation where a term is needed.",
    ),
    BuiltinTone(
        "bullets",
        "Тезисами",
        "Bullet points",
        "Summarise the post as three to five bullet points, one line each, each starting with "
        "'• '. No introduction and no conclusion.",
    ),
)


async def seed_builtin_tones() -> int:
    """Insert the built-in tones that are missing and return how many were inserted.

    Existing rows keep their titles and instructions, so an admin's edits survive restarts.
    """
    rows = await Tone.filter(is_builtin=True).values("code")
    existing = {str(row["code"]) for row in rows}
    missing = [
        Tone(
            code=tone.code,
            title_ru=tone.title_ru,
            title_en=tone.title_en,
            instruction=tone.instruction,
            is_builtin=True,
        )
        for tone in BUILTIN_TONES
        if tone.code not in existing
    ]
    if missing:
        await Tone.bulk_create(missing, ignore_conflicts=True)
    return len(missing)
