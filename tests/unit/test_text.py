"""Unit tests for Vietnamese text normalisation (hotline.text)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.text import (
    accents_compatible,
    fold,
    has_diacritics,
    normalize,
    tokenize,
    unaccent,
    uses_diacritics,
)

PROPERTY_SETTINGS = settings(max_examples=400, deadline=None)

# Arbitrary text, plus text biased towards what matters here: Vietnamese letters in both
# Unicode forms, combining marks, apostrophes, punctuation and odd whitespace.
VIETNAMESE_CHARS = "aăâeêioôơuưyđĐÁÀẢÃẠấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
tricky_text = st.text(
    alphabet=st.sampled_from(
        list(VIETNAMESE_CHARS)
        + list(unicodedata.normalize("NFD", VIETNAMESE_CHARS))
        + list("\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b")
        + list("'’‘`´ʼ.,;:!?-–—_()\"/ \t\n\u00a0\u200bİıßǰﬁΣςÐð0123456789")
        + list("mgarknMGARKN")
    ),
    max_size=60,
)
any_text = st.one_of(st.text(max_size=80), tricky_text)
FOLDED_SHAPE = re.compile(r"^(?:[^\W_]+(?: [^\W_]+)*)?$")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Mất   ĐIỆN\t\n ở  Phường Tân Lập ", "mất điện ở phường tân lập"),
        (unicodedata.normalize("NFD", "Buôn Ma Thuột"), "buôn ma thuột"),
        ("ĐẮK LẮK", "đắk lắk"),
        ("a\u00a0b\u2003c", "a b c"),
        ("", ""),
        ("   ", ""),
        ("Cư M'gar", "cư m'gar"),
    ],
)
def test_normalize_cases(raw: str, expected: str) -> None:
    """Test that normalize gives NFC, lower case and single spaces."""
    result = normalize(raw)
    assert result == expected
    assert unicodedata.is_normalized("NFC", result)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Đắk Lắk", "Dak Lak"),
        ("buôn ma thuột", "buon ma thuot"),
        ("Ea H'Leo", "Ea H'Leo"),
        ("Krông Búk", "Krong Buk"),
        ("đường dây điện", "duong day dien"),
        (unicodedata.normalize("NFD", "phường Hòa Hiệp"), "phuong Hoa Hiep"),
        ("plain ascii, 123", "plain ascii, 123"),
        ("Ðắk", "Dak"),
    ],
)
def test_unaccent_cases(raw: str, expected: str) -> None:
    """Test that unaccent removes diacritics (and the bar of đ) but keeps case and spacing."""
    assert unaccent(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cư M'gar", "cu mgar"),
        ("Cu Mgar", "cu mgar"),
        ("cư m’gar", "cu mgar"),
        ("CƯ M`GAR", "cu mgar"),
        ("Ea H'Leo", "ea hleo"),
        ("P.Tân Lập", "p tan lap"),
        ("Hùng Vương – Trần Phú", "hung vuong tran phu"),
        ("Phú Hòa 1, Phú Hòa 2", "phu hoa 1 phu hoa 2"),
        ("“Mất điện!!!” (3 ngày)", "mat dien 3 ngay"),
        ("snake_case", "snake case"),
        (unicodedata.normalize("NFD", "Đồng Xuân"), "dong xuan"),
        ("'", ""),
        ("", ""),
    ],
)
def test_fold_cases(raw: str, expected: str) -> None:
    """Test that fold removes case, diacritics, apostrophes and punctuation."""
    assert fold(raw) == expected


def test_tokenize_keeps_offsets_into_the_original_text() -> None:
    """Test that tokens carry offsets into the text as given, even in decomposed form."""
    text = unicodedata.normalize("NFD", "Xã Cư M'gar, thôn 3")
    tokens = tokenize(text)
    assert [t.folded for t in tokens] == ["xa", "cu", "mgar", "thon", "3"]
    assert [t.text for t in tokens] == ["xã", "cư", "mgar", "thôn", "3"]
    assert unicodedata.normalize("NFC", text[tokens[1].start : tokens[2].end]) == "Cư M'gar"


@pytest.mark.parametrize(
    ("written", "reference", "strict", "expected"),
    [
        ("mất", "mất", False, True),
        ("mat", "mất", False, True),
        ("mat", "mất", True, False),
        ("mặt", "mất", False, False),
        ("diện", "điện", False, False),
        ("dien", "điện", False, True),
        ("hoà", "hòa", True, True),
        ("thuỷ", "thủy", True, True),
        ("phương", "phường", False, False),
        ("xa", "xã", False, True),
        ("xa", "xã", True, False),
        ("xà", "xã", False, False),
        ("karaoke", "karaoke", True, True),
        ("mut", "mất", False, False),
    ],
)
def test_accents_compatible(written: str, reference: str, strict: bool, expected: bool) -> None:
    """Test that accented words must agree, and plain words stand for any accent unless strict."""
    assert accents_compatible(written, reference, strict=strict) is expected


def test_uses_diacritics_by_share_of_words() -> None:
    """Test that a text counts as accented by the share of its words with diacritics."""
    assert uses_diacritics(tokenize("Khu vực tổ dân phố 5 mất điện"))
    assert not uses_diacritics(tokenize("khu vuc to dan pho 5 mat dien"))
    # One pasted name does not make an SMS accented.
    assert not uses_diacritics(tokenize("mat dien o thon 3 xa Cư M'gar tu sang"))
    assert not uses_diacritics(tokenize("123 456"))
    assert not uses_diacritics([])


def test_has_diacritics() -> None:
    """Test that has_diacritics spots any diacritic, including the bar of đ."""
    assert has_diacritics("đi")
    assert has_diacritics(unicodedata.normalize("NFD", "mất"))
    assert not has_diacritics("mat dien")
    assert not has_diacritics("")


@PROPERTY_SETTINGS
@given(any_text)
def test_normalize_never_raises_and_is_idempotent(text: str) -> None:
    """Test that normalize accepts any string and normalising twice changes nothing."""
    once = normalize(text)
    assert normalize(once) == once
    assert once == once.strip()
    assert "  " not in once


@PROPERTY_SETTINGS
@given(any_text)
def test_fold_never_raises_and_is_idempotent(text: str) -> None:
    """Test that fold accepts any string, is idempotent and gives words and single spaces."""
    once = fold(text)
    assert fold(once) == once
    assert fold(normalize(text)) == once
    assert FOLDED_SHAPE.match(once)
    assert unaccent(once) == once


@PROPERTY_SETTINGS
@given(any_text)
def test_unaccent_never_raises(text: str) -> None:
    """Test that unaccent accepts any string and is idempotent on normalised text."""
    once = unaccent(normalize(text))
    assert unaccent(once) == once


@PROPERTY_SETTINGS
@given(any_text)
def test_tokens_point_into_the_text(text: str) -> None:
    """Test that every token's offsets lie in the text and its folded form is non-empty."""
    tokens = tokenize(text)
    last_end = 0
    for token in tokens:
        assert last_end <= token.start < token.end <= len(text)
        assert token.folded
        last_end = token.end
    assert " ".join(t.folded for t in tokens) == fold(text)
