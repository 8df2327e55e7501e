"""Phone numbers: what citizens type or carriers send, normalised to E.164 (+84...)."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "VN"


def normalize_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Return RAW as an E.164 number, or None when it is not a valid phone number.

    Accepts the ways Vietnamese numbers are written: "0912345678", "+84 912 345 678",
    "84912345678", "0084912345678".

    Args:
        raw: the number as typed or as a provider sent it.
        region: the region assumed for numbers without a country code.

    Returns:
        E.164 ("+84912345678") or None.
    """
    text = (raw or "").strip()
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def last_digits(phone: str | None, count: int = 4) -> str:
    """Return the last COUNT digits of PHONE ("" when there is no phone)."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    return digits[-count:] if len(digits) >= count else ""
