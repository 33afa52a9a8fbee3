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

from django.db import connections
from django.db.models import Model, Q
from django.db.models.expressions import RawSQL
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
    """The words a search must all find, folded; a masked CPF/CNPJ becomes its bare characters.
    A NUL separates words: no database takes one in a search (SQLite's FTS5 stops at it)."""
    folded = fold(query.replace("\x00", " "))
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


def few_matches(model: type[Model], field: str, fts_table: str, terms: list[str], limit: int, db: str) -> Q | None:
    """The rows of `model` whose folded `field` holds every term, as a condition by id, when few do; else None.

    The same rows as contains_all(field, terms), found from an index, reading at most
    `limit` + 1 matches. None means the words are common: then contains_all is the fast
    condition, read in the order a page asks for (the words are met early, where a list of
    many ids would be read whole and sorted).

    On PostgreSQL always None: the pg_trgm GIN index serves the LIKE, and the planner weighs
    it against the page's order better than a look-up first would (bench/people_search.py).
    On SQLite, which has no index for a LIKE, the FTS5 trigram table `fts_table` over the
    field, one word at a time, the longest first: FTS5 finds two words together by reading
    every match of each (30–100 ms for two common words over 1,000,000 tickets); the first
    word with at most `limit` matches decides, and the LIKE checks the other words on those
    rows only.
    """
    if connections[db].vendor != "sqlite":
        return None
    for word in sorted((t for t in terms if len(t) >= MIN_SEARCH_CHARS), key=len, reverse=True):
        found = _fts_match(fts_table, word, limit, db)
        if found is not None:
            return found & contains_all(field, [t for t in terms if t != word])
    return None


def _fts_match(fts_table: str, word: str, limit: int, db: str) -> Q | None:
    """SQLite: the rows the FTS5 table finds holding `word`, as a subquery, when at most `limit` do.

    Raw SQL: the ORM has no MATCH. The word is one FTS phrase ("…", a quote doubled); the
    trigram table cannot find words under 3 characters, which the LIKE then checks.
    """
    phrase = '"' + word.replace('"', '""') + '"'
    found = f"SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH %s"
    with connections[db].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({found} LIMIT %s)", [phrase, limit + 1])
        (count,) = cursor.fetchone()
    return Q(pk__in=RawSQL(found, [phrase])) if count <= limit else None
