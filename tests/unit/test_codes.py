"""Tests of ticket codes: Damm check digit, format, randomness."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from hotline.tickets.codes import clean_code, damm_digit, is_valid_code, new_code

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def test_new_code_shape():
    """Test that a code is 10 digits, starts with the year and passes its own check."""
    code = new_code(NOW)
    assert len(code) == 10 and code.isdigit() and code.startswith("26") and is_valid_code(code)


def test_every_single_digit_error_is_caught():
    """Test that changing any one digit of any of 300 codes makes it invalid."""
    rng = random.Random(7)
    for _ in range(300):
        code = new_code(NOW)
        for pos in range(10):
            for digit in "0123456789":
                if digit != code[pos]:
                    typo = code[:pos] + digit + code[pos + 1 :]
                    assert not is_valid_code(typo), (code, typo)
        rng.random()


def test_every_adjacent_swap_is_caught():
    """Test that swapping any two different adjacent digits makes a code invalid."""
    for _ in range(300):
        code = new_code(NOW)
        for pos in range(9):
            if code[pos] != code[pos + 1]:
                swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
                assert not is_valid_code(swapped), (code, swapped)


def test_codes_are_not_sequential():
    """Test that consecutive codes are not consecutive numbers (no guessing the next one)."""
    codes = [int(new_code(NOW)[2:9]) for _ in range(50)]
    gaps = {b - a for a, b in zip(codes, codes[1:], strict=False)}
    assert len(gaps) > 40


@given(st.text(max_size=30))
def test_checker_never_raises(raw):
    """Test that the checker and cleaner accept any text without raising."""
    assert isinstance(is_valid_code(clean_code(raw)), bool)


def test_clean_code_strips_separators():
    """Test that spaces, dots and dashes typed inside a code are ignored."""
    code = new_code(NOW)
    assert clean_code(f"{code[:2]} {code[2:6]}-{code[6:]}") == code
    assert damm_digit(code) == 0
