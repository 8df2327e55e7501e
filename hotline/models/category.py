"""Ticket categories, their routing keywords, area agencies and SLA policies."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.extensions import Model
from hotline.models.agency import Agency

SCOPES = ("local", "provincial", "by-area")
PRIORITIES = ("urgent", "normal", "complex")


class Category(Model):
    """A field of complaints (lĩnh vực); the Open311 service."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_vi: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    ivr_key: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    agency: Mapped[Agency | None] = relationship(lazy="joined")

    def name(self, locale: str = "vi") -> str:
        """Return the category's name in LOCALE."""
        return self.name_en if locale == "en" else self.name_vi

    def __repr__(self) -> str:
        return f"<Category {self.code}>"


class RoutingKeyword(Model):
    """A phrase that points to a category, with its weight."""

    __tablename__ = "routing_keywords"
    __table_args__ = (UniqueConstraint("category_id", "phrase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    phrase: Mapped[str] = mapped_column(String(255))
    weight: Mapped[float] = mapped_column(Float, default=1.0)

    category: Mapped[Category] = relationship(lazy="joined")


class AreaAgency(Model):
    """For a by-area category: which agency serves communes of a former province."""

    __tablename__ = "area_agencies"
    __table_args__ = (UniqueConstraint("category_id", "former_province"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    former_province: Mapped[str] = mapped_column(String(120))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))

    agency: Mapped[Agency] = relationship(lazy="joined")


class SlaPolicy(Model):
    """Working-time targets for one category and priority."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("category_id", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    priority: Mapped[str] = mapped_column(String(20))
    acknowledge_minutes: Mapped[int] = mapped_column(Integer)
    resolve_minutes: Mapped[int] = mapped_column(Integer)
    at_risk_ratio: Mapped[float] = mapped_column(Float, default=0.75)

    category: Mapped[Category] = relationship()
