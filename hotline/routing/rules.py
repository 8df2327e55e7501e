"""Keyword-rule classification of complaints into categories.

Commune detection, the other half of routing a text, is in `hotline.routing.communes`; it
shares `RulesFileError` for its CSV file.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hotline.text import Token, accents_compatible, tokenize, uses_diacritics

__all__ = [
    "Classification",
    "CategoryClassifier",
    "KeywordRule",
    "RulesFileError",
    "load_rules",
]

# Shorthand common in SMS, expanded before matching so that "ko co dien" or "mất nc"
# meet the rules written in full.  Only words that are unambiguous in a complaint.
_ABBREVIATIONS: dict[str, str] = {
    "k": "không",
    "ko": "không",
    "kh": "không",
    "kg": "không",
    "khg": "không",
    "hok": "không",
    "dc": "được",
    "đc": "được",
    "nc": "nước",
    "ng": "người",
    "j": "gì",
    "bv": "bệnh viện",
    "gv": "giáo viên",
    "cty": "công ty",
}


class RulesFileError(ValueError):
    """A keyword rules file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class KeywordRule:
    """One keyword rule: PHRASE in a text is evidence of CATEGORY worth WEIGHT."""

    category: str
    phrase: str
    weight: float


@dataclass
class Classification:
    """The outcome of classifying one text.

    Attributes:
        category: the decided category, or None when the text must go to triage.
        score: the best category's score (0.0 when nothing matched).
        runner_up: the second-best category, if any matched.
        runner_up_score: its score (0.0 when none).
        matched: the phrases (as written in the rules) that matched for the best category;
            filled even when no decision was taken, as a hint for the triage desk.
        reason: a short Vietnamese explanation for the ticket history.
        candidate: the best-scoring category, decided or not.
    """

    category: str | None
    score: float
    runner_up: str | None
    runner_up_score: float
    matched: list[str]
    reason: str
    candidate: str | None = None


@dataclass(frozen=True)
class _Phrase:
    """A rule's phrase split into normalised words, ready for matching."""

    rule: KeywordRule
    words: tuple[str, ...]
    folded: tuple[str, ...]


@dataclass(frozen=True)
class _Hit:
    """A phrase found at token positions [start, end) of a text."""

    phrase: _Phrase
    start: int
    end: int

    @property
    def length(self) -> int:
        """Number of words covered."""
        return self.end - self.start


def _words_match(
    tokens: Sequence[Token],
    at: int,
    words: Sequence[str],
    folded: Sequence[str],
    strict: bool,
) -> bool:
    """Return True when WORDS occur in TOKENS starting at position AT.

    Each word must fold the same and be accent-compatible (see `accents_compatible`;
    STRICT for a text typed with diacritics).
    """
    if at + len(words) > len(tokens):
        return False
    for offset, (word, folded_word) in enumerate(zip(words, folded, strict=True)):
        token = tokens[at + offset]
        if token.folded != folded_word or not accents_compatible(token.text, word, strict=strict):
            return False
    return True


def _expand_abbreviations(tokens: list[Token]) -> list[Token]:
    """Replace SMS shorthand words by their full form; new words keep the old offsets."""
    expanded: list[Token] = []
    for token in tokens:
        full = _ABBREVIATIONS.get(token.text)
        if full is None:
            expanded.append(token)
            continue
        for word in tokenize(full):
            expanded.append(Token(word.text, word.folded, token.start, token.end))
    return expanded


def _format_score(value: float) -> str:
    """Format a score for a Vietnamese reason string ("3", "2,5")."""
    return f"{value:g}".replace(".", ",")


class CategoryClassifier:
    """Classify complaint texts into categories with weighted keyword rules.

    A category's score is the sum of the weights of its distinct phrases found in the
    text.  Where phrases nest, the longer one is the better evidence: a phrase lying inside
    a longer matched phrase (of any category) does not count, so "tai nạn lao động" is
    labour and not also "tai nạn" traffic, and "mất điện" inside "mất điện thoại" is not
    a power cut.

    Phrases match whole words.  In a text typed with diacritics (most of its words carry
    one) every word must agree with the phrase's diacritics, so "mặt đường" is not "mất
    điện" and "cho" is not "chợ"; in a text typed without them (most SMS) the letters
    alone are compared, so "mat dien" is "mất điện".  Common SMS shorthand ("ko", "nc",
    "bv") is expanded first.

    The classifier decides only when the evidence is clear: the best score must reach
    MIN_SCORE, and beat the runner-up by at least MIN_MARGIN points and by a factor of at
    least MIN_RATIO.  Otherwise the category is None and the ticket goes to triage.  With
    the defaults one strong phrase (weight 3 or more) or two weaker ones decide, and a
    rival category must be well behind (5 against 3 decides, 5 against 4 does not).
    """

    def __init__(
        self,
        rules: Iterable[KeywordRule],
        *,
        min_score: float = 3.0,
        min_margin: float = 1.0,
        min_ratio: float = 1.5,
    ) -> None:
        """Build the classifier.

        Args:
            rules: the keyword rules.
            min_score: the lowest winning score that may decide a category.
            min_margin: how many points the winner must lead the runner-up by.
            min_ratio: how many times the runner-up's score the winner must reach.

        Raises:
            ValueError: a rule has an empty phrase or a weight that is not positive.
        """
        self.min_score = min_score
        self.min_margin = min_margin
        self.min_ratio = min_ratio
        self.rules: list[KeywordRule] = []
        # Index by first folded word: each text position then only tries the few phrases
        # that can start there.
        self._index: dict[str, list[_Phrase]] = {}
        self._longest = 1
        for rule in rules:
            if not (rule.weight > 0 and math.isfinite(rule.weight)):
                raise ValueError(f"weight must be a positive number: {rule!r}")
            tokens = tokenize(rule.phrase)
            if not tokens:
                raise ValueError(f"phrase has no words: {rule!r}")
            phrase = _Phrase(rule, tuple(t.text for t in tokens), tuple(t.folded for t in tokens))
            self.rules.append(rule)
            self._index.setdefault(phrase.folded[0], []).append(phrase)
            self._longest = max(self._longest, len(phrase.words))

    @classmethod
    def from_csv(cls, path: str | Path, **kwargs: float) -> CategoryClassifier:
        """Load rules from a CSV file with the header ``category,phrase,weight``.

        Args:
            path: the CSV file (UTF-8, a BOM is accepted).
            **kwargs: thresholds passed on to the constructor.

        Returns:
            The classifier.

        Raises:
            RulesFileError: the file is malformed; the message names the file and line.
            OSError: the file cannot be read.
        """
        return cls(load_rules(path), **kwargs)

    def categories(self) -> set[str]:
        """Return the categories that have at least one rule."""
        return {rule.category for rule in self.rules}

    def _hits(self, tokens: Sequence[Token], strict: bool) -> list[_Hit]:
        """Find every occurrence of every phrase in TOKENS."""
        hits: list[_Hit] = []
        for start, token in enumerate(tokens):
            for phrase in self._index.get(token.folded, ()):
                if _words_match(tokens, start, phrase.words, phrase.folded, strict):
                    hits.append(_Hit(phrase, start, start + len(phrase.words)))
        return hits

    def scores(self, text: str) -> dict[str, tuple[float, list[str]]]:
        """Score TEXT against every category.

        Args:
            text: the complaint text, with or without diacritics.

        Returns:
            For each category with evidence: its score and the phrases that counted,
            in the order they appear in the text.
        """
        tokens = tokenize(text)
        # A text typed with diacritics is matched on them: its plain words are meant plain.
        # A text typed without (most SMS) is matched on the letters alone.
        hits = self._hits(_expand_abbreviations(tokens), uses_diacritics(tokens))
        # A phrase inside a strictly longer matched phrase is not separate evidence.  Only
        # hits starting at most one phrase length earlier can contain a given hit, so
        # looking there alone keeps long texts linear.
        by_start: dict[int, list[_Hit]] = {}
        for hit in hits:
            by_start.setdefault(hit.start, []).append(hit)
        outer = [
            hit
            for hit in hits
            if not any(
                other.length > hit.length and hit.end <= other.end
                for start in range(max(0, hit.start - self._longest + 1), hit.start + 1)
                for other in by_start.get(start, ())
            )
        ]
        by_category: dict[str, list[_Hit]] = {}
        for hit in outer:
            by_category.setdefault(hit.phrase.rule.category, []).append(hit)
        result: dict[str, tuple[float, list[str]]] = {}
        for category, category_hits in by_category.items():
            # Phrases that merely share a word ("làm hư hỏng đường" and "đường giao thông
            # nông thôn") are separate evidence and both count.  Repeating a phrase adds no
            # information: each rule counts once.
            category_hits.sort(key=lambda h: h.start)
            seen: dict[KeywordRule, None] = {}
            for hit in category_hits:
                seen.setdefault(hit.phrase.rule, None)
            score = sum(rule.weight for rule in seen)
            result[category] = (score, [rule.phrase for rule in seen])
        return result

    def classify(self, text: str) -> Classification:
        """Classify TEXT, or decline (category None) when the evidence is weak or split.

        Args:
            text: the complaint text, with or without diacritics.

        Returns:
            The classification, with the reason in Vietnamese.
        """
        scores = self.scores(text)
        if not scores:
            return Classification(None, 0.0, None, 0.0, [], "không khớp từ khóa nào")
        # Ties on score are broken by name only to keep the output deterministic; a tie
        # never decides anything since the margin check then fails.
        ranked = sorted(scores.items(), key=lambda item: (-item[1][0], item[0]))
        best, (best_score, matched) = ranked[0]
        runner_up, runner_up_score = None, 0.0
        if len(ranked) > 1:
            runner_up, runner_up_score = ranked[1][0], ranked[1][1][0]
        keywords = ", ".join(matched)
        if best_score < self.min_score:
            category = None
            reason = (
                f"điểm thấp ({_format_score(best_score)} < {_format_score(self.min_score)}),"
                f" từ khóa: {keywords}"
            )
        elif (
            best_score - runner_up_score < self.min_margin
            or best_score < self.min_ratio * runner_up_score
        ):
            category = None
            reason = (
                f"không rõ ràng: {best} {_format_score(best_score)} so với"
                f" {runner_up} {_format_score(runner_up_score)}; từ khóa: {keywords}"
            )
        else:
            category = best
            reason = f"từ khóa: {keywords}"
        return Classification(
            category=category,
            score=best_score,
            runner_up=runner_up,
            runner_up_score=runner_up_score,
            matched=matched,
            reason=reason,
            candidate=best,
        )


def load_rules(path: str | Path) -> list[KeywordRule]:
    """Read keyword rules from a CSV file with the header ``category,phrase,weight``.

    Blank lines are skipped.  Every other row must have a category, a phrase with at
    least one word, and a positive finite weight; the same phrase may not appear twice
    in one category.

    Args:
        path: the CSV file (UTF-8, a BOM is accepted).

    Returns:
        The rules in file order.

    Raises:
        RulesFileError: the file is malformed; the message names the file and line.
        OSError: the file cannot be read.
    """
    path = Path(path)
    rules: list[KeywordRule] = []
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        expected = ["category", "phrase", "weight"]
        if header is None or [h.strip().lower() for h in header] != expected:
            raise RulesFileError(f"{path}:1: header must be {','.join(expected)}, got {header!r}")
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 3:
                raise RulesFileError(f"{path}:{line}: expected 3 columns, got {len(row)}")
            category, phrase, raw_weight = (cell.strip() for cell in row)
            if not category:
                raise RulesFileError(f"{path}:{line}: empty category")
            if not phrase or not tokenize(phrase):
                raise RulesFileError(f"{path}:{line}: empty phrase")
            try:
                weight = float(raw_weight)
            except ValueError:
                raise RulesFileError(
                    f"{path}:{line}: weight {raw_weight!r} is not a number"
                ) from None
            if not (weight > 0 and math.isfinite(weight)):
                raise RulesFileError(f"{path}:{line}: weight {raw_weight!r} must be positive")
            key = (category, tuple(t.text for t in tokenize(phrase)))
            if key in seen:
                raise RulesFileError(
                    f"{path}:{line}: phrase {phrase!r} repeats line {seen[key]} for {category}"
                )
            seen[key] = line
            rules.append(KeywordRule(category, phrase, weight))
    return rules
