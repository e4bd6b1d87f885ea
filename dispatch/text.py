"""What text may hold. Control characters, bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F,
U+061C) and other invisible format characters can make a printed label or a screen read differently from the
stored text, or break a database lookup (NUL on PostgreSQL): input text and request paths refuse them."""

from __future__ import annotations

import unicodedata

# Joiners that scripts (Persian, Indic) and emoji sequences need: visible in effect, not a spoof.
JOINERS = frozenset("\u200c\u200d")
MULTILINE_WHITESPACE = frozenset("\t\n\r")


def text_problem(text: str, *, multiline: bool = False) -> tuple[str, str] | None:
    """None if the text is clean, else ("control" | "invisible", "U+XXXX") for the first offending character."""
    if text.isprintable():
        return None
    for char in text:
        if char.isprintable() or char in JOINERS or (multiline and char in MULTILINE_WHITESPACE):
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs"):
            return "control", f"U+{ord(char):04X}"
        if category in ("Cf", "Zl", "Zp"):
            return "invisible", f"U+{ord(char):04X}"
    return None


def path_is_clean(path: str) -> bool:
    """A request path with no control, format or separator character (tokens and ids never hold one)."""
    return path.isprintable()
