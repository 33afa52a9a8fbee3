from __future__ import annotations

import unicodedata


def fold(value: str) -> str:
    """Lower-case, accents removed: the key people are searched by ("silv" finds "Sílvia")."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()
