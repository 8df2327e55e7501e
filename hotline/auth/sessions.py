"""Loading the signed-in user from the session cookie."""

from __future__ import annotations

import hmac

from hotline.extensions import db
from hotline.models import User


def load_user_from_session(session_id: str) -> User | None:
    """Return the user a session belongs to, or None when the session no longer holds.

    The session id is "<user id>:<stamp of the password hash>" (`User.get_id`): changing
    the password, or deactivating the account, ends every session opened before.
    """
    user_id, _, stamp = (session_id or "").partition(":")
    if not user_id.isdigit() or not stamp:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(stamp, user.session_stamp):
        return None
    return user
