"""Accent- and case-insensitive text, the same on SQLite and PostgreSQL."""

import unicodedata


def fold(text: str) -> str:
    """'Özel ÉLAN' → 'ozel elan': strip accents (NFKD, drop combining marks), casefold."""
    if text.isascii():
        return text.casefold()  # the same result: ASCII has no decompositions or marks
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
