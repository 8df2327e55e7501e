"""Staff accounts and API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from hotline.extensions import Model
from hotline.models.agency import Agency
from hotline.models.checks import one_of
from hotline.models.types import UTCDateTime
from hotline.timeutil import utcnow

ROLES = ("operator", "agent", "agency_head", "supervisor", "admin")
AGENCY_ROLES = ("agent", "agency_head")


class User(UserMixin, Model):
    """A member of staff; agents and agency heads belong to one agency."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES),)  # migration 0003

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def set_password(self, password: str) -> None:
        """Hash and keep PASSWORD."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Return whether PASSWORD matches."""
        return check_password_hash(self.password_hash, password)

    @property
    def session_stamp(self) -> str:
        """A short digest of the password hash: sessions carry it, so a new password ends them."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def get_id(self) -> str:  # Flask-Login: what the session cookie keeps
        return f"{self.id}:{self.session_stamp}"

    @property
    def sees_all_agencies(self) -> bool:
        """Operators, supervisors and admins see every agency's tickets."""
        return self.role in ("operator", "supervisor", "admin")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class ApiKey(Model):
    """A key for the JSON and Open311 APIs; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(12), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @staticmethod
    def hash_key(raw: str) -> str:
        """Return the stored form of RAW (keys are random, so a plain SHA-256 suffices)."""
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def generate(cls, name: str) -> tuple[ApiKey, str]:
        """Return a new key row and the raw key, which is shown once and never stored."""
        raw = "hk_" + secrets.token_urlsafe(32)
        return cls(name=name, prefix=raw[:10], key_hash=cls.hash_key(raw)), raw
