"""Helpers shared by the intake channels: status labels, code look-ups, TRA parsing, URLs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from hotline.extensions import db
from hotline.labels import STATUS_LABELS, label  # SPEC §3 labels, one table for every page
from hotline.models import Category, Commune, Ticket
from hotline.text import fold
from hotline.tickets.codes import clean_code, is_valid_code

# "TRA 2612345678", "tracuu 26 1234 5678", "Tra cứu: 2612345678", "TRA2612345678": the whole
# message is the command (matched on the folded text, so diacritics and case do not matter).
_LOOKUP_RE = re.compile(r"^tra\s*(?:cuu)?\s*([0-9][0-9 ]*)$")
# Longer than any "Tra cứu: 26 1234 5678" a person types: such a message is a report.
_LOOKUP_MAX_CHARS = 60


def status_label(status: str) -> str:
    """Return the Vietnamese label of STATUS (translated when another locale is active)."""
    return label(STATUS_LABELS, status)


def is_answered(ticket: Ticket) -> bool:
    """Whether the ticket was closed with an answer the citizen may read."""
    return (
        ticket.status == "closed"
        and ticket.close_reason == "answered"
        and bool(ticket.public_answer)
    )


def public_url(path: str) -> str:
    """Return PATH on the public base URL (what Twilio and citizens see)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def spoken_digits(code: str) -> str:
    """Return CODE as digits separated by commas, so text-to-speech reads them one by one."""
    return ", ".join(ch for ch in code if ch.isdigit())


@dataclass(frozen=True)
class LookupCommand:
    """A TRA/TRACUU message: the code as typed (cleaned) and whether its check digit holds."""

    code: str
    valid: bool


def parse_lookup(text: str) -> LookupCommand | None:
    """Return the look-up command in an SMS, or None when the message is a report.

    Args:
        text: the message, in any case, with or without diacritics and spaces.

    Returns:
        The command, or None.
    """
    text = text or ""
    # Most messages are reports: tell them apart before folding the whole text (folding
    # is the costly part). A command's first letter is a plain T, with or without case.
    first = next((ch for ch in text if ch.isalnum()), "")
    if first not in ("t", "T") or len(text) > _LOOKUP_MAX_CHARS:
        return None
    folded = fold(text)
    match = _LOOKUP_RE.match(folded)
    if match is None:
        return None
    code = clean_code(match.group(1))
    return LookupCommand(code, is_valid_code(code))


def ticket_by_code(code: str) -> Ticket | None:
    """Return the ticket with CODE (cleaned of spaces and dashes), or None."""
    code = clean_code(code)
    if not is_valid_code(code):
        return None
    return db.session.execute(select(Ticket).filter_by(code=code)).scalar_one_or_none()


def active_categories() -> list[Category]:
    """Return the active categories, by Vietnamese name."""
    return list(
        db.session.execute(select(Category).filter_by(active=True).order_by(Category.name_vi))
        .scalars()
        .all()
    )


def all_communes() -> list[Commune]:
    """Return every commune and ward, by name."""
    return list(db.session.execute(select(Commune).order_by(Commune.name)).scalars().all())


def commune_by_code(code: str | None) -> Commune | None:
    """Return the commune whose code is CODE, or None."""
    if not code:
        return None
    return db.session.execute(select(Commune).filter_by(code=code)).scalar_one_or_none()


def commune_search_key(commune: Commune) -> str:
    """Return the folded text the commune search matches against ("phuong tan lap")."""
    return fold(commune.full_name)
