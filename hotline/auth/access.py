"""Role checks for views: who may open a page, decided on the server for every request."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from hotline.models import User

STAFF_ROLES = ("operator", "agent", "agency_head", "supervisor", "admin")


def roles_required(*roles: str) -> Callable:
    """Decorate a view: anonymous visitors go to the login page, other roles get 403.

    Args:
        *roles: the roles allowed; none means any signed-in member of staff.
    """
    allowed = frozenset(roles or STAFF_ROLES)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def staff_user() -> User:
    """Return the signed-in user as a model (the views are all behind `roles_required`)."""
    return current_user._get_current_object()
