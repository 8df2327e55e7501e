"""Phone numbers: what citizens type or carriers send, normalised to E.164 (+84...)."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "VN"
# Numbers an SMS reaches: mobiles (and numbers the plan cannot tell apart from them), not
# landlines, which are how many offices and shops call 1022.
_SMS_NUMBER_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


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


def can_receive_sms(phone: str | None) -> bool:
    """Return whether PHONE (E.164, as stored) is a valid number that can receive an SMS.

    Args:
        phone: a stored number ("+84912345678"), or None.

    Returns:
        True for a valid mobile number, False for a landline, an invalid number or None.
    """
    if not phone:
        return False
    try:
        number = phonenumbers.parse(phone, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return False
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) in _SMS_NUMBER_TYPES
    )


def last_digits(phone: str | None, count: int = 4) -> str:
    """Return the last COUNT digits of PHONE ("" when there is no phone)."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    return digits[-count:] if len(digits) >= count else ""
