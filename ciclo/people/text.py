"""Folded text: what people and tickets are searched by, accents and case ignored.

The rule of every search in Ciclo (people by name or CPF/CNPJ, tickets by text): the
query is split into words, and every word must appear somewhere in the folded text —
anywhere, not only at the start of a word ("carv" finds "Daniela Carvalho", "goncalves"
finds "Gonçalves", "vale verde" finds "Distribuidora Vale Verde Ltda"). A word with a
digit in it loses its mask (".", "-", "/"), so a CPF/CNPJ matches typed either way; a
query made only of digits, letters and the mask is one word ("529 982 247-25").
At least one word must have MIN_SEARCH_CHARS characters: shorter ones cannot use the
trigram index and would read every row.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from django.db.models import Q
from django.utils.translation import gettext as _

MIN_SEARCH_CHARS = 3
_MASK = str.maketrans("", "", ".-/")
_DIGITS = "0123456789"


def fold(value: str) -> str:
    """Lower-case, accents removed: the key people are searched by ("silv" finds "Sílvia")."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def fold_all(*values: str) -> str:
    """Several texts folded into one search key, one space apart (empty ones left out)."""
    return " ".join(folded for folded in (fold(v) for v in values) if folded)


def append_folded(key: str, *values: str) -> str:
    """`key` (already folded) with more texts folded onto its end."""
    return " ".join(part for part in (key, fold_all(*values)) if part)


def search_terms(query: str) -> list[str]:
    """The words a search must all find, folded; a masked CPF/CNPJ becomes its bare characters."""
    folded = fold(query)
    if any(ch in _DIGITS for ch in folded) and all(ch in _DIGITS or ch in " .-/" for ch in folded):
        return [folded.translate(_MASK).replace(" ", "")]
    terms: list[str] = []
    for word in folded.split():
        if any(ch in _DIGITS for ch in word):
            word = word.translate(_MASK)
        if word and word not in terms:
            terms.append(word)
    return terms


def too_short(terms: Iterable[str]) -> bool:
    """No word long enough to search by (an empty query is not too short: it asks for nothing)."""
    terms = list(terms)
    return bool(terms) and max(len(t) for t in terms) < MIN_SEARCH_CHARS


class SearchTooShort(ValueError):
    """A search with no word of MIN_SEARCH_CHARS characters; `message` says what to type."""

    def __init__(self) -> None:
        self.message = _("Type at least %(n)s characters: part of a name, or digits of the CPF/CNPJ.") % {
            "n": MIN_SEARCH_CHARS
        }
        super().__init__(self.message)


def check_search(query: str) -> list[str]:
    """search_terms(query), or SearchTooShort when no word is long enough to search by."""
    terms = search_terms(query)
    if too_short(terms):
        raise SearchTooShort()
    return terms


def contains_all(field: str, terms: Iterable[str]) -> Q:
    """Every term somewhere in the folded `field` (LIKE '%term%'; a trigram index serves it on PostgreSQL)."""
    condition = Q()
    for term in terms:
        condition &= Q(**{f"{field}__contains": term})
    return condition
