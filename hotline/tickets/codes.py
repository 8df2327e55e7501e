"""Ticket codes: YY + 7 random digits + a Damm check digit, keyable on a phone keypad.

The Damm check digit catches every single-digit error and every swap of two adjacent
digits; the random part keeps codes from being guessed in sequence.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

# The Damm quasigroup table of order 10 (weakly totally anti-symmetric).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
CODE_LENGTH = 10
_NON_DIGITS = re.compile(r"[\s.\-_/]")


def damm_digit(digits: str) -> int:
    """Return the Damm check digit of DIGITS.

    Args:
        digits: a string of decimal digits.

    Returns:
        The digit that, appended, makes the interim value 0.
    """
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][ord(ch) - 48]
    return interim


def is_valid_code(code: str) -> bool:
    """Return whether CODE is 10 digits whose last one is the Damm check of the others."""
    return (
        isinstance(code, str)
        and len(code) == CODE_LENGTH
        and code.isascii()
        and code.isdigit()
        and damm_digit(code) == 0
    )


def clean_code(raw: str | None) -> str:
    """Strip the spaces, dots and dashes people type inside a code ("26 1234 5678")."""
    return _NON_DIGITS.sub("", raw or "")


def new_code(now: datetime) -> str:
    """Return a fresh random code for a ticket created at NOW (its year gives the prefix)."""
    body = f"{now.year % 100:02d}{secrets.randbelow(10**7):07d}"
    return body + str(damm_digit(body))
