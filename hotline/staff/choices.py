"""Reference data for the staff forms' drop-downs, cached per process for a minute.

Every queue and ticket page offers the categories, the 102 communes and the agencies;
reading them on each request would cost more than the page's own query. An admin change
empties every cache of its process (`hotline.cache.invalidate_caches`); other processes
catch up within the minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from hotline.cache import TimedCache
from hotline.extensions import db
from hotline.models import Agency, Category, Commune

TTL_SECONDS = 60


@dataclass(frozen=True)
class ReferenceChoices:
    """Plain (id, label) lists, safe to share between requests."""

    categories: tuple[tuple[int, str, str, str, bool], ...]  # id, code, name_vi, name_en, active
    communes: tuple[tuple[int, str], ...]  # id, full name
    agencies: tuple[tuple[int, str, bool], ...]  # id, name, active

    def category_options(self, locale: str, *, by_code: bool = False, active_only: bool = True):
        """(value, label) pairs of the categories, named in LOCALE."""
        return [
            (code if by_code else ident, name_en if locale == "en" else name_vi)
            for ident, code, name_vi, name_en, active in self.categories
            if active or not active_only
        ]

    def commune_options(self):
        """(id, full name) pairs of the communes."""
        return list(self.communes)

    def agency_options(self, *, exclude: int | None = None, active_only: bool = True):
        """(id, name) pairs of the agencies."""
        return [
            (ident, name)
            for ident, name, active in self.agencies
            if ident != exclude and (active or not active_only)
        ]


def _load() -> ReferenceChoices:
    categories = db.session.execute(
        select(
            Category.id, Category.code, Category.name_vi, Category.name_en, Category.active
        ).order_by(Category.name_vi)
    ).all()
    communes = db.session.execute(select(Commune).order_by(Commune.type, Commune.name)).scalars()
    agencies = db.session.execute(
        select(Agency.id, Agency.name, Agency.active).order_by(Agency.name)
    ).all()
    return ReferenceChoices(
        tuple(tuple(row) for row in categories),
        tuple((c.id, c.full_name) for c in communes),
        tuple(tuple(row) for row in agencies),
    )


_choices_cache = TimedCache("staff choices", _load, TTL_SECONDS)


def reference_choices() -> ReferenceChoices:
    """Return the cached reference lists, reloading them after TTL_SECONDS."""
    return _choices_cache.get()


def invalidate_choices() -> None:
    """Forget the cached lists (after an admin changes agencies, categories or communes)."""
    _choices_cache.invalidate()
