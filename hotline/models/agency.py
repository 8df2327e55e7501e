"""Agencies that own tickets, and the communes (each with its People's Committee)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.extensions import Model

AGENCY_KINDS = ("department", "police", "utility", "commune", "triage", "office")


class Agency(Model):
    """A body that answers tickets: a department, a utility, a commune's People's Committee."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    # Comma-separated addresses for notifications and the digest.
    emails: Mapped[str] = mapped_column(Text, default="")
    notify_new_tickets: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def email_list(self) -> list[str]:
        """Return the agency's notification addresses."""
        return [e.strip() for e in (self.emails or "").split(",") if e.strip()]

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"


class Commune(Model):
    """A commune-level unit (xã or phường) of the province."""

    __tablename__ = "communes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(10))  # xã | phường
    former_district: Mapped[str] = mapped_column(String(120), default="")
    former_province: Mapped[str] = mapped_column(String(120), default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))

    agency: Mapped[Agency | None] = relationship(lazy="joined")

    @property
    def full_name(self) -> str:
        """The name with its prefix, as people write it ("xã Hòa Phú")."""
        return f"{self.type} {self.name}"

    def __repr__(self) -> str:
        return f"<Commune {self.full_name}>"
