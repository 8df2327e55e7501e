"""Vietnamese text normalisation: case, Unicode forms, diacritics and word tokens."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

__all__ = [
    "Token",
    "accents_compatible",
    "fold",
    "has_diacritics",
    "normalize",
    "tokenize",
    "unaccent",
    "uses_diacritics",
]

# Apostrophes and quote-like marks are dropped, not turned into spaces, so that ethnic
# place names keep one word however they are typed: "M'gar", "M’gar" and "Mgar".  The
# two Greek accents at the end become ` and ´ under NFC, so they must be here too.
APOSTROPHES = "'’‘`´ʼʻ′\u1fef\u1ffd"
_APOSTROPHE_TABLE = str.maketrans("", "", APOSTROPHES)

# Đ is not decomposed by NFD, so it needs an explicit mapping.  The Icelandic eth (Ð/ð)
# is included because old Vietnamese encodings converted to Unicode often produce it
# where Đ was meant.
_STROKE_TABLE = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


@cache
def _word_re() -> re.Pattern[str]:
    """Return the pattern of a word, built on first use (it scans the Unicode tables once).

    A word is a run of letters and digits (no underscore), combining marks (text typed in
    decomposed form, e.g. with Unikey's "Unicode tổ hợp"; and every script's marks, so
    that NFC, which splits a few letters into letter + mark, never splits a word), and
    apostrophes.  Anything else (punctuation, symbols, whitespace) separates words.
    """
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    marks = "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )
    return re.compile(rf"(?:[^\W_]|[{marks}{re.escape(APOSTROPHES)}])+")


# The five Vietnamese tone marks, as combining characters after NFD.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def normalize(text: str) -> str:
    """Return TEXT in NFC, case-folded, with runs of whitespace collapsed to one space.

    Args:
        text: any string.

    Returns:
        The normalised text, stripped at both ends.
    """
    # NFC again after casefold: folding can leave decomposed sequences (e.g. "ǰ").
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(folded.split())


def unaccent(text: str) -> str:
    """Return TEXT without diacritics ("Đắk Lắk" becomes "Dak Lak"); case is kept.

    Meant to be applied to normalised text; it does not change case or spacing itself.

    Args:
        text: any string.

    Returns:
        TEXT with đ/Đ mapped to d/D and every combining mark removed, in NFC.
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text.translate(_STROKE_TABLE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text.

    Attributes:
        text: the word normalised (NFC, case-folded) with apostrophes removed; diacritics kept.
        folded: the word without diacritics, letters and digits only ("mgar" for "M'gar").
        start: offset of the word's first character in the original text.
        end: offset just after the word's last character in the original text.
    """

    text: str
    folded: str
    start: int
    end: int


@lru_cache(maxsize=65536)
def _word_forms(raw: str) -> tuple[str, str]:
    """Return the (normalised, folded) forms of one raw word; cached, words repeat a lot."""
    if raw.isascii():
        # Fast path for the common SMS case: plain ASCII needs no Unicode work.
        norm = raw.translate(_APOSTROPHE_TABLE).lower()
        return norm, "".join(ch for ch in norm if ch.isalnum())
    norm = normalize(raw).translate(_APOSTROPHE_TABLE)
    return norm, "".join(ch for ch in unaccent(norm) if ch.isalnum())


def tokenize(text: str) -> list[Token]:
    """Split TEXT into words, keeping their offsets in the original string.

    Words that fold to nothing (e.g. a lone apostrophe) are dropped.

    Args:
        text: any string.

    Returns:
        The words in order of appearance.
    """
    tokens: list[Token] = []
    for match in _word_re().finditer(text):
        norm, folded = _word_forms(match.group())
        if folded:
            tokens.append(Token(norm, folded, match.start(), match.end()))
    return tokens


def fold(text: str) -> str:
    """Return the matching form of TEXT: normalised, without diacritics or punctuation.

    Apostrophes and quotes are dropped and other punctuation becomes a space, so
    "Cư M'gar", "Cu Mgar" and "cư m’gar" all fold to "cu mgar".

    Args:
        text: any string.

    Returns:
        Lower-case letters and digits, words separated by single spaces.
    """
    # `tokenize` without its Token objects: every new ticket folds its whole text.
    folded = (_word_forms(match.group())[1] for match in _word_re().finditer(text))
    return " ".join(word for word in folded if word)


def has_diacritics(text: str) -> bool:
    """Return True when TEXT contains any diacritic (including the bar of đ).

    Args:
        text: any string.

    Returns:
        Whether unaccenting TEXT would change it.
    """
    return not text.isascii() and unaccent(text) != text


@lru_cache(maxsize=65536)
def _accent_key(word: str) -> str:
    """Return WORD decomposed with its tone marks moved to the end.

    Tone placement varies ("hoà"/"hòa", "thuỷ"/"thủy"); keeping the tone per word rather
    than per letter makes both spellings equal.
    """
    decomposed = unicodedata.normalize("NFD", word)
    tones = sorted(ch for ch in decomposed if ch in _TONE_MARKS)
    return "".join(ch for ch in decomposed if ch not in _TONE_MARKS) + "".join(tones)


@lru_cache(maxsize=65536)
def _plain(word: str) -> str:
    """Return WORD without diacritics (cached: rule words are looked up over and over)."""
    return unaccent(word)


def accents_compatible(written: str, reference: str, *, strict: bool = False) -> bool:
    """Return True when the word WRITTEN can stand for the word REFERENCE.

    Both words must be normalised (see `Token.text`).  A word written with diacritics must
    carry exactly REFERENCE's ("mặt" is not "mất", "diện" is not "điện", "phương" is not
    "phường"), though tone-mark placement does not matter.  A word written without any
    diacritic stands for every accented word with the same letters ("mat" for "mất" and
    "mặt"), unless STRICT: in a text typed with diacritics a plain word is meant plain
    ("xa", far, is not "xã").

    Args:
        written: a normalised word from the text.
        reference: a normalised word from a keyword or name, with its full diacritics.
        strict: whether a word without diacritics must also match exactly.

    Returns:
        Whether WRITTEN can stand for REFERENCE.
    """
    if written == reference or _accent_key(written) == _accent_key(reference):
        return True
    return not strict and _plain(written) == written and _plain(reference) == written


def uses_diacritics(tokens: Sequence[Token], share: float = 0.5) -> bool:
    """Return True when TOKENS read as text typed with diacritics.

    Typed Vietnamese carries a diacritic on most words, while SMS typed without them may
    still hold an accented name pasted in, so the test is a share of the words rather than
    the presence of any diacritic.  Numbers are not counted.

    Args:
        tokens: the words of a text (see `tokenize`).
        share: the least share of words with a diacritic.

    Returns:
        Whether at least SHARE of the words carry a diacritic.
    """
    words = [t for t in tokens if not t.folded.isdigit()]
    if not words:
        return False
    accented = sum(t.text != t.folded for t in words)
    return accented >= share * len(words)
