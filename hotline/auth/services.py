"""Signing in and changing passwords: lock after repeated failures, audit every attempt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from hotline.auth import audit
from hotline.extensions import db
from hotline.models import User
from hotline.timeutil import utcnow
from hotline.users import MIN_PASSWORD_LENGTH

DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCK_MINUTES = 15


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt gave: the user on success, else why not."""

    user: User | None
    error: str | None = None  # "invalid" | "locked"
    locked_until: datetime | None = None


class PasswordError(ValueError):
    """A password change was refused; `field` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the email is unknown, so both cases take the same time.
    return generate_password_hash("no-such-user-dummy-password")


def _limits() -> tuple[int, timedelta]:
    cfg = current_app.config
    return (
        int(cfg.get("LOGIN_MAX_FAILURES", DEFAULT_MAX_FAILURES)),
        timedelta(minutes=int(cfg.get("LOGIN_LOCK_MINUTES", DEFAULT_LOCK_MINUTES))),
    )


def authenticate(email: str, password: str, *, now: datetime | None = None) -> LoginResult:
    """Check EMAIL and PASSWORD, count failures, lock the account after too many, and commit.

    Args:
        email: the login as typed (case and surrounding spaces ignored).
        password: the password as typed.
        now: the current instant (tests).

    Returns:
        A LoginResult. A locked account is refused even with the right password, and an
        unknown email looks exactly like a wrong password.
    """
    now = now or utcnow()
    max_failures, lock_for = _limits()
    address = (email or "").strip().lower()
    user = (
        db.session.execute(
            select(User).where(func.lower(User.email) == address)
        ).scalar_one_or_none()
        if address
        else None
    )
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password or "")
        audit.record(
            "auth.login_failed",
            actor=user,
            data={"reason": "inactive" if user else "unknown_account"},
        )
        db.session.commit()
        return LoginResult(None, "invalid")
    if user.locked_until is not None and user.locked_until > now:
        audit.record("auth.login_refused_locked", actor=user, target=f"user:{user.id}")
        db.session.commit()
        return LoginResult(None, "locked", user.locked_until)
    if not user.check_password(password or ""):
        return _wrong_password(user, now, max_failures, lock_for)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record("auth.login", actor=user, target=f"user:{user.id}")
    db.session.commit()
    return LoginResult(user)


def _wrong_password(
    user: User, now: datetime, max_failures: int, lock_for: timedelta
) -> LoginResult:
    """Count a wrong password; at MAX_FAILURES lock the account for LOCK_FOR. Commits."""
    user.failed_logins = (user.failed_logins or 0) + 1
    audit.record(
        "auth.login_failed",
        actor=user,
        target=f"user:{user.id}",
        data={"reason": "password", "failures": user.failed_logins},
    )
    if user.failed_logins < max_failures:
        db.session.commit()
        return LoginResult(None, "invalid")
    user.locked_until = now + lock_for
    user.failed_logins = 0
    audit.record(
        "auth.locked",
        actor=user,
        target=f"user:{user.id}",
        data={"until": user.locked_until.isoformat()},
    )
    db.session.commit()
    return LoginResult(None, "locked", user.locked_until)


def record_logout(user: User) -> None:
    """Audit a logout and commit."""
    audit.record("auth.logout", actor=user, target=f"user:{user.id}")
    db.session.commit()


def check_new_password(password: str, confirm: str) -> str:
    """Return PASSWORD when it is long enough and confirmed, else raise PasswordError."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise PasswordError("new_password", "too_short")
    if password != confirm:
        raise PasswordError("confirm", "mismatch")
    return password


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """Replace USER's password after checking the current one; audit it and commit.

    Raises:
        PasswordError: the current password is wrong, or the new one is too short,
            unconfirmed or the same as before.
    """
    if not user.check_password(current or ""):
        audit.record("auth.password_change_refused", actor=user, target=f"user:{user.id}")
        db.session.commit()
        raise PasswordError("current_password", "wrong")
    check_new_password(new, confirm)
    if user.check_password(new):
        raise PasswordError("new_password", "unchanged")
    user.set_password(new)
    audit.record("auth.password_changed", actor=user, target=f"user:{user.id}")
    db.session.commit()
