"""Creating and checking staff accounts."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from hotline.extensions import db
from hotline.models import AGENCY_ROLES, ROLES, Agency, User

MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


def normalise_email(email: str) -> str:
    """Return EMAIL checked and lower-cased, or raise UserError."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise UserError(f"invalid email: {exc}") from None


def create_user(
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    agency_code: str | None = None,
    locale: str = "vi",
) -> User:
    """Create and commit a member of staff.

    Args:
        email: the login.
        name: the person's name, shown in histories.
        role: operator, agent, agency_head, supervisor or admin.
        password: at least MIN_PASSWORD_LENGTH characters; only its hash is kept.
        agency_code: required for agents and agency heads, refused for other roles.

    Returns:
        The new user.
    """
    email = normalise_email(email)
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise UserError("name is required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    agency = None
    if role in AGENCY_ROLES:
        if not agency_code:
            raise UserError(f"a {role} needs --agency")
        agency = db.session.execute(select(Agency).filter_by(code=agency_code)).scalar_one_or_none()
        if agency is None:
            raise UserError(f"unknown agency {agency_code!r}")
    elif agency_code:
        raise UserError(f"a {role} does not belong to an agency")
    if db.session.execute(select(User.id).where(func.lower(User.email) == email)).first():
        raise UserError(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        agency_id=agency.id if agency else None,
        locale=locale,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user
