"""Tests of `sms_text` and `count_segments`: the one encoding of every SMS we send."""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.notifications.sms import count_segments, sms_text


@pytest.fixture
def plain_app():
    """A bare Flask app: sms_text reads only SMS_STRIP_DIACRITICS from the config."""
    app = Flask("sms-text")
    with app.app_context():
        yield app


def test_diacritics_are_stripped_when_the_setting_asks(plain_app):
    """Test that SMS_STRIP_DIACRITICS unaccents the text (đ -> d) and that off keeps it."""
    plain_app.config["SMS_STRIP_DIACRITICS"] = True
    assert sms_text("Đã tiếp nhận phản ánh") == "Da tiep nhan phan anh"
    plain_app.config["SMS_STRIP_DIACRITICS"] = False
    assert sms_text("Đã tiếp nhận phản ánh") == "Đã tiếp nhận phản ánh"


def test_the_argument_overrides_the_setting(plain_app):
    """Test that strip_diacritics given by the caller wins over SMS_STRIP_DIACRITICS."""
    plain_app.config["SMS_STRIP_DIACRITICS"] = True
    assert sms_text("Lắk", strip_diacritics=False) == "Lắk"
    plain_app.config["SMS_STRIP_DIACRITICS"] = False
    assert sms_text("Lắk", strip_diacritics=True) == "Lak"


@pytest.mark.parametrize("strip", [True, False])
def test_whitespace_is_collapsed_either_way(strip):
    """Test that runs of spaces, tabs and newlines become one space, ends trimmed."""
    assert sms_text("  Đắk \t Lắk\n\n 2 ", strip_diacritics=strip) == (
        "Dak Lak 2" if strip else "Đắk Lắk 2"
    )


def test_typographic_characters_get_gsm7_stand_ins():
    """Test that curly quotes, dashes, the ellipsis and the no-break space are replaced by
    their GSM-7 look-alikes when stripping, so the text stays in GSM-7."""
    text = sms_text("“Mất điện” – đường số\u00a05… ‘ok’ — xong", strip_diacritics=True)
    assert text == "\"Mat dien\" - duong so 5... 'ok' - xong"
    assert count_segments(text).encoding == "GSM-7"


def test_characters_outside_gsm7_become_question_marks_only_when_stripping():
    """Test that an emoji or a CJK character becomes "?" when stripping (one such character
    would make the whole message UCS-2) and is kept untouched otherwise."""
    assert sms_text("Mất nước 😀 水", strip_diacritics=True) == "Mat nuoc ? ?"
    assert sms_text("Mất nước 😀 水", strip_diacritics=False) == "Mất nước 😀 水"


def test_gsm7_extension_characters_survive_stripping():
    """Test that the GSM-7 extension characters (two septets each) are kept, and that every
    letter is unaccented, even those GSM-7 could carry (é, ü)."""
    assert sms_text("é ü ñ {x} [y] € ^ ~ | \\", strip_diacritics=True) == (
        "e u n {x} [y] € ^ ~ | \\"
    )


@pytest.mark.parametrize(
    "text, encoding, units, segments",
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("{" * 80, "GSM-7", 160, 1),  # an extension character takes two septets
        ("{" * 81, "GSM-7", 162, 2),
        ("ă" * 70, "UCS-2", 70, 1),
        ("ă" * 71, "UCS-2", 71, 2),
        ("ă" * 134, "UCS-2", 134, 2),
        ("ă" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "UCS-2", 72, 2),
        ("a" * 159 + "ă", "UCS-2", 160, 3),  # one letter outside GSM-7 switches it all
    ],
)
def test_segment_lengths(text, encoding, units, segments):
    """Test GSM-7 (160 alone, 153 a part) and UCS-2 (70 alone, 67 a part) segment counts."""
    counted = count_segments(text)
    assert (counted.encoding, counted.units, counted.segments) == (encoding, units, segments)


def test_stripping_brings_a_vietnamese_text_from_ucs2_to_gsm7():
    """Test that a 100-character Vietnamese text takes two UCS-2 parts, one once unaccented."""
    text = ("Mất điện ở phường Tân Lập " * 4)[:100]
    assert count_segments(sms_text(text, strip_diacritics=False)).segments == 2
    plain = count_segments(sms_text(text, strip_diacritics=True))
    assert (plain.encoding, plain.segments) == ("GSM-7", 1)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.text())
def test_a_stripped_text_is_always_gsm7_and_stable(text):
    """Test that whatever the input, the stripped text is GSM-7 and stripping it again
    changes nothing."""
    once = sms_text(text, strip_diacritics=True)
    assert count_segments(once).encoding == "GSM-7"
    assert sms_text(once, strip_diacritics=True) == once
