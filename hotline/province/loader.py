"""Loading a province's data into the database: an idempotent upsert."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import (
    Agency,
    AreaAgency,
    CalendarDay,
    Category,
    Commune,
    RoutingKeyword,
    SlaPolicy,
)
from hotline.province.files import ProvinceDataError, ProvinceFiles, read_province
from hotline.text import fold


@dataclass
class LoadReport:
    """How many rows of each kind the province has after loading, and how many were new."""

    counts: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)


def commune_code(type_: str, name: str) -> str:
    """Return a stable slug for a commune ("phuong-tan-lap")."""
    return "-".join(fold(f"{type_} {name}").split())


def _upsert(model, key: dict[str, Any], values: dict[str, Any], report: LoadReport, label: str):
    row = db.session.execute(select(model).filter_by(**key)).scalar_one_or_none()
    if row is None:
        row = model(**key, **values)
        db.session.add(row)
        report.created[label] = report.created.get(label, 0) + 1
    else:
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
    report.counts[label] = report.counts.get(label, 0) + 1
    return row


def _calendar_days(data: ProvinceFiles) -> list[tuple[date, str, str]]:
    path = data.folder / "calendar.json"
    days = []
    for kind, key in (("off", "days_off"), ("work", "working_days")):
        for item in data.calendar.get(key, []):
            try:
                day = date.fromisoformat(item["date"])
            except (KeyError, TypeError, ValueError):
                raise ProvinceDataError(path, None, f"{key}: bad date in {item!r}") from None
            days.append((day, kind, item.get("name", "")))
    return days


Wrap = Callable[[Iterable, str], Iterable]


def load_province(folder: Path, progress: Wrap | None = None) -> LoadReport:
    """Upsert every row of the province in FOLDER in one transaction.

    Args:
        folder: the province's data folder.
        progress: wraps each iterable to show progress (e.g. a tqdm factory); optional.

    Returns:
        Counts of rows per kind, and how many were created.

    Raises:
        ProvinceDataError: when a file is malformed; nothing is written then.
    """
    data = read_province(folder)
    calendar_days = _calendar_days(data)
    wrap: Wrap = progress or (lambda items, _label: items)
    report = LoadReport()
    try:
        agencies = _load_agencies(data, wrap, report)
        _load_communes(data, wrap, report)
        categories = _load_categories(data, agencies, wrap, report)
        _load_category_rules(data, agencies, categories, wrap, report)
        for day, kind, name in calendar_days:
            _upsert(
                CalendarDay, {"day": day}, {"kind": kind, "name": name}, report, "calendar days"
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _load_agencies(data: ProvinceFiles, wrap: Wrap, report: LoadReport) -> dict[str, Agency]:
    """Upsert the provincial agencies; return them by code."""
    agencies: dict[str, Agency] = {}
    for row in wrap(data.agencies, "agencies"):
        agencies[row["code"]] = _upsert(
            Agency,
            {"code": row["code"]},
            {
                "name": row["name"],
                "kind": row["kind"],
                "emails": row["emails"],
                "notify_new_tickets": row["notify_new_tickets"],
            },
            report,
            "agencies",
        )
    return agencies


def _load_communes(data: ProvinceFiles, wrap: Wrap, report: LoadReport) -> None:
    """Upsert the communes, each with its people's committee as an agency."""
    naming = data.province.get("commune_agency", {})
    prefix = naming.get("code_prefix", "ubnd-")
    template = naming.get("name_template", "UBND {type} {name}")
    for row in wrap(data.communes, "communes"):
        code = commune_code(row["type"], row["name"])
        committee = _upsert(
            Agency,
            {"code": prefix + code},
            {"name": template.format(type=row["type"], name=row["name"]), "kind": "commune"},
            report,
            "commune agencies",
        )
        db.session.flush()
        _upsert(
            Commune,
            {"code": code},
            {
                "name": row["name"],
                "type": row["type"],
                "former_district": row["former_district"],
                "former_province": row["former_province"],
                "agency_id": committee.id,
            },
            report,
            "communes",
        )
    db.session.flush()


def _load_categories(
    data: ProvinceFiles, agencies: dict[str, Agency], wrap: Wrap, report: LoadReport
) -> dict[str, Category]:
    """Upsert the categories with their agency and IVR key; return them by code."""
    ivr_keys = {code: int(key) for key, code in data.ivr.get("category_keys", {}).items() if code}
    categories: dict[str, Category] = {}
    for row in wrap(data.categories, "categories"):
        agency = agencies.get(row["agency"]) if row["agency"] else None
        categories[row["code"]] = _upsert(
            Category,
            {"code": row["code"]},
            {
                "name_vi": row["name_vi"],
                "name_en": row["name_en"],
                "scope": row["scope"],
                "agency_id": agency.id if agency else None,
                "notes": row.get("notes", ""),
                "ivr_key": ivr_keys.get(row["code"]),
            },
            report,
            "categories",
        )
    db.session.flush()
    return categories


def _load_category_rules(
    data: ProvinceFiles,
    agencies: dict[str, Agency],
    categories: dict[str, Category],
    wrap: Wrap,
    report: LoadReport,
) -> None:
    """Upsert what hangs off a category: area agencies, routing keywords, SLA policies."""
    for row in data.area_agencies:
        _upsert(
            AreaAgency,
            {
                "category_id": categories[row["category"]].id,
                "former_province": row["former_province"],
            },
            {"agency_id": agencies[row["agency"]].id},
            report,
            "area agencies",
        )
    for row in wrap(data.keywords, "routing keywords"):
        _upsert(
            RoutingKeyword,
            {"category_id": categories[row["category"]].id, "phrase": row["phrase"]},
            {"weight": row["weight"]},
            report,
            "routing keywords",
        )
    at_risk_ratio = float(data.province.get("at_risk_ratio", 0.75))
    for row in wrap(data.sla_policies, "SLA policies"):
        _upsert(
            SlaPolicy,
            {"category_id": categories[row["category"]].id, "priority": row["priority"]},
            {
                "acknowledge_minutes": row["acknowledge_minutes"],
                "resolve_minutes": row["resolve_minutes"],
                "at_risk_ratio": at_risk_ratio,
            },
            report,
            "SLA policies",
        )
