"""The queue's search box: a ticket code, a phone number, or words with or without diacritics.

Text is matched against `Ticket.search_text`, the folded (unaccented, lower-case) copy of
the ticket's texts, written by the routing job's update and kept on every later write (a
report just stored is found by its code or phone number until then): `LIKE '%word%'` per
word works the same on SQLite and PostgreSQL, where a trigram index keeps it fast at
millions of rows.
"""

from __future__ import annotations

import re

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from hotline.models import Ticket
from hotline.phones import normalize_phone
from hotline.text import fold
from hotline.tickets.codes import CODE_LENGTH, clean_code

MAX_WORDS = 8
# Shorter words are matched whole (see search_patterns).
MIN_PART = 3
_PHONE_CHARS = re.compile(r"^[+\d\s().\-]+$")


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_patterns(query: str) -> list[str]:
    """Return the LIKE patterns for QUERY's words (folded, without diacritics).

    A word of three letters or more may occur inside a longer one ("thoat" in "thoat nuoc").
    Shorter ones ("o ga" for "ổ gà", "xe") are frequent syllables that trigrams cannot
    index alone: they must occur as whole words, and a run of them as a phrase, so "o ga"
    looks for " o ga ".
    """
    words = fold(query).split()[:MAX_WORDS]
    patterns: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word and len(word) < MIN_PART:
            run.append(word)
            continue
        if run:
            patterns.append(f"% {_like_escape(' '.join(run))} %")
            run = []
        if word:
            patterns.append(f"%{_like_escape(word)}%")
    return patterns


def text_condition(column, query: str) -> ColumnElement[bool] | None:
    """Return "every word (or short-word phrase) of QUERY occurs in COLUMN"."""
    patterns = search_patterns(query)
    if not patterns:
        return None
    return and_(*(column.like(p, escape="\\") for p in patterns))


def search_condition(query: str) -> ColumnElement[bool] | None:
    """Return the WHERE condition for the search box's QUERY (None when it is empty).

    A 10-digit code matches that ticket; a phone number (any usual Vietnamese form)
    matches the citizen's number; anything else is searched as words in the text.
    """
    query = (query or "").strip()[:200]
    if not query:
        return None
    if _PHONE_CHARS.match(query):
        conditions = []
        digits = clean_code(query)
        if len(digits) == CODE_LENGTH and digits.isdigit():
            conditions.append(Ticket.code == digits)
        phone = normalize_phone(query)
        if phone:
            conditions.append(Ticket.phone == phone)
        if conditions:
            return or_(*conditions)
    return text_condition(Ticket.search_text, query)
