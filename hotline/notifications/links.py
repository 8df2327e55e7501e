"""Public and staff links put in messages, and the one-time rating token.

Workers have no request to build URLs from, so links are made from PUBLIC_BASE_URL. The
rating page (`/r/<token>`) looks a ticket up by the hash of its token: only the hash is
stored on the ticket.
"""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import quote, urlencode

from flask import current_app


def _base() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def tracking_url(code: str) -> str:
    """Return the public tracking page of ticket CODE."""
    return f"{_base()}/track?{urlencode({'code': code})}"


def staff_ticket_url(code: str) -> str:
    """Return the staff page of ticket CODE."""
    return f"{_base()}/staff/tickets/{quote(code)}"


def new_rating_token() -> tuple[str, str]:
    """Return a fresh (token, hash): the token goes in the SMS, the hash on the ticket."""
    # 16 bytes: unguessable, and short enough to keep the SMS link short.
    token = secrets.token_urlsafe(16)
    return token, hash_rating_token(token)


def hash_rating_token(token: str) -> str:
    """Return the stored form of a rating TOKEN (random tokens need no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def rating_url(token: str) -> str:
    """Return the rating page for TOKEN."""
    return f"{_base()}/r/{quote(token)}"
