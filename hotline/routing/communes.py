"""Commune detection: which of the province's communes and wards a complaint names.

Split from the keyword classifier (`hotline.routing.rules`): both read Vietnamese text the
same way (`hotline.text`), but a commune is found by its name and the words around it, not
by weighted evidence.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hotline.routing.rules import RulesFileError
from hotline.text import Token, accents_compatible, tokenize, uses_diacritics

__all__ = ["CommuneMatch", "CommuneMatcher"]


@dataclass(frozen=True)
class CommuneMatch:
    """A commune named in a text.

    Attributes:
        name: the commune's official name.
        type: "xã" or "phường".
        prefixed: whether the text wrote "xã"/"phường" (or "x."/"p.") before the name.
        span: offsets (start, end) of the name in the original text.
    """

    name: str
    type: str
    prefixed: bool
    span: tuple[int, int]


@dataclass(frozen=True)
class _Mention:
    """A commune name found at token positions [start, end) of a text."""

    index: int
    start: int
    end: int
    folded: tuple[str, ...]


# Words that announce a commune (folded form and, where the bare letters are ambiguous,
# the accented word that must be compatible: "xa" typed as "xà" or "xá" is not "xã").
_COMMUNE_PREFIXES: dict[str, str] = {"xa": "xã", "phuong": "phường", "x": "x", "p": "p"}
# Units that no longer exist since July 2025 (districts, towns, cities) or are larger than
# a commune (provinces).  Many old districts share their name with a new commune (huyện
# Krông Búk / xã Krông Búk), but the old district covered several of today's communes, so
# such a mention says nothing reliable about the commune: it is ignored, and a text that
# only names a former district gets no commune (the triage desk decides).
_FORMER_UNIT_WORDS: dict[str, str] = {"huyen": "huyện", "tp": "tp", "tx": "tx", "tinh": "tỉnh"}
_FORMER_UNIT_PAIRS: dict[tuple[str, str], tuple[str, str]] = {
    ("thi", "xa"): ("thị", "xã"),
    ("thanh", "pho"): ("thành", "phố"),
    ("thi", "tran"): ("thị", "trấn"),
    # "T.P" and "T.X", as some write tp/tx: the "p"/"x" alone would read as a prefix.
    ("t", "p"): ("t", "p"),
    ("t", "x"): ("t", "x"),
}
# Streets are often named after places ("đường Tây Sơn"); a name right after one of these
# words is a street, not a commune.
_STREET_WORDS: dict[str, str] = {
    "duong": "đường",
    "pho": "phố",
    "hem": "hẻm",
    "ngo": "ngõ",
    "kiet": "kiệt",
}


def _is_word(token: Token, table: dict[str, str], strict: bool) -> bool:
    """Return True when TOKEN is one of the words in TABLE (accent-compatible)."""
    accented = table.get(token.folded)
    return accented is not None and accents_compatible(token.text, accented, strict=strict)


class CommuneMatcher:
    """Find which of the province's communes and wards a text names.

    Names match on whole words, with or without diacritics and apostrophes ("Cư M'gar",
    "Cu Mgar", "cu m'gar").  A name right after "xã", "phường", "x." or "p." is a prefixed
    mention; a bare name may also be a street, a village or a common word ("Tân An",
    "Hòa Phú"), so it counts only when the text has no prefixed mention.  Names after
    "huyện", "thị xã", "thành phố", "tp", "tx", "tỉnh" or "thị trấn" are former districts
    or provinces and are ignored, as are names after "đường"/"phố" (streets).

    A few names also name something bigger (phường Phú Yên and the former province Phú
    Yên): those given as PREFIX_ONLY count only with a prefix, since "ở Phú Yên" almost
    always means the province.

    When names overlap, the longest wins.  Otherwise a prefixed mention beats a bare one,
    and the earliest mention wins: the first place named is usually where the problem is
    ("đường từ xã A đi xã B").
    """

    def __init__(
        self, communes: Iterable[tuple[str, str]], *, prefix_only: Iterable[str] = ()
    ) -> None:
        """Build the matcher.

        Args:
            communes: (name, type) pairs, type being "xã" or "phường".
            prefix_only: names (in any spelling) that count only after "xã"/"phường".

        Raises:
            ValueError: a name has no words or a type is neither "xã" nor "phường".
        """
        self._prefix_only = {tuple(t.folded for t in tokenize(name)) for name in prefix_only}
        self.communes: list[tuple[str, str]] = []
        self._index: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for name, kind in communes:
            folded = tuple(t.folded for t in tokenize(name))
            if not folded:
                raise ValueError(f"commune name has no words: {name!r}")
            if kind not in ("xã", "phường"):
                raise ValueError(f"commune type must be xã or phường: {name!r} is {kind!r}")
            self._index.setdefault(folded[0], []).append((len(self.communes), folded))
            self.communes.append((name, kind))

    @classmethod
    def from_csv(cls, path: str | Path) -> CommuneMatcher:
        """Load communes from a CSV file with (at least) the columns ``name`` and ``type``.

        When the file has a ``former_province`` column, communes named like a former
        province count only with a prefix (see the class docstring).

        Args:
            path: the CSV file (UTF-8, a BOM is accepted).

        Returns:
            The matcher.

        Raises:
            RulesFileError: a column is missing or a row is incomplete.
            OSError: the file cannot be read.
        """
        path = Path(path)
        communes: list[tuple[str, str]] = []
        provinces: set[str] = set()
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"name", "type"} <= set(reader.fieldnames):
                raise RulesFileError(f"{path}:1: columns name and type are required")
            for row in reader:
                name, kind = (row.get("name") or "").strip(), (row.get("type") or "").strip()
                if not name or kind not in ("xã", "phường"):
                    raise RulesFileError(
                        f"{path}:{reader.line_num}: need a name and a type xã or phường"
                    )
                communes.append((name, kind))
                if row.get("former_province"):
                    provinces.add(row["former_province"].strip())
        names = {name for name, _ in communes}
        return cls(communes, prefix_only=names & provinces)

    def _context(self, tokens: Sequence[Token], start: int, strict: bool) -> str:
        """Classify the words before a name: "prefixed", "former", "street" or "bare"."""
        before = tokens[start - 1] if start >= 1 else None
        before2 = tokens[start - 2] if start >= 2 else None
        if before is None:
            return "bare"
        if before2 is not None:
            pair = _FORMER_UNIT_PAIRS.get((before2.folded, before.folded))
            if (
                pair is not None
                and accents_compatible(before2.text, pair[0])
                and accents_compatible(before.text, pair[1])
            ):
                return "former"
        # Words that rule a name out are read leniently (a plain "huyen" in an accented
        # text is still "huyện"): wrongly dropping a bare mention costs little.  The
        # prefix promotes a mention, so it is read strictly in an accented text.
        if _is_word(before, _FORMER_UNIT_WORDS, False):
            return "former"
        if _is_word(before, _COMMUNE_PREFIXES, strict):
            return "prefixed"
        if _is_word(before, _STREET_WORDS, False):
            return "street"
        return "bare"

    def find_all(self, text: str) -> list[CommuneMatch]:
        """Return every commune mention in TEXT that counts, best first.

        Args:
            text: any text.

        Returns:
            The mentions, ordered as `find` ranks them.
        """
        tokens = tokenize(text)
        mentions: list[_Mention] = []
        for start, token in enumerate(tokens):
            for index, folded in self._index.get(token.folded, ()):
                end = start + len(folded)
                if end <= len(tokens) and all(
                    tokens[start + i].folded == word for i, word in enumerate(folded)
                ):
                    mentions.append(_Mention(index, start, end, folded))
        # Overlapping names: the longest wins ("Tuy An Bắc" over a shorter name inside it).
        mentions.sort(key=lambda m: (-len(" ".join(m.folded)), m.start))
        kept: list[_Mention] = []
        for mention in mentions:
            if all(mention.end <= k.start or k.end <= mention.start for k in kept):
                kept.append(mention)
        # The prefix words are checked on their diacritics when the text has them, so
        # that "địa phương Tân An" (locality) or "ở xa Tân An" (far) is no prefix.
        strict = uses_diacritics(tokens)
        ranked: list[tuple[bool, int, CommuneMatch]] = []
        for mention in kept:
            context = self._context(tokens, mention.start, strict)
            if context in ("former", "street"):
                continue
            name, kind = self.communes[mention.index]
            span = (tokens[mention.start].start, tokens[mention.end - 1].end)
            prefixed = context == "prefixed"
            if not prefixed and mention.folded in self._prefix_only:
                continue
            ranked.append((not prefixed, mention.start, CommuneMatch(name, kind, prefixed, span)))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [match for _, _, match in ranked]

    def find(self, text: str) -> CommuneMatch | None:
        """Return the commune TEXT is most likely about, or None.

        Args:
            text: any text.

        Returns:
            The best mention (see the class docstring), or None when the text names no
            commune, or names one only as a former district or a street.
        """
        matches = self.find_all(text)
        return matches[0] if matches else None
