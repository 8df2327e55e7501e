"""Reading and checking a province's data folder (pure: no database)."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.models.agency import AGENCY_KINDS
from hotline.models.category import PRIORITIES, SCOPES

COMMUNE_TYPES = ("xã", "phường")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$")


class ProvinceDataError(ValueError):
    """A province file is missing or malformed; the message names the file and line."""

    def __init__(self, path: Path, line: int | None, message: str):
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class ProvinceFiles:
    """Everything read from one province folder, checked and cross-referenced."""

    folder: Path
    province: dict[str, Any]
    agencies: list[dict[str, Any]]
    communes: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    area_agencies: list[dict[str, Any]]
    keywords: list[dict[str, Any]]
    sla_policies: list[dict[str, Any]]
    calendar: dict[str, Any]
    ivr: dict[str, Any]


def _rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise ProvinceDataError(path, None, "file not found")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ProvinceDataError(path, 1, f"missing column(s): {', '.join(missing)}")
        out = []
        for row in reader:
            line = reader.line_num
            if None in row or any(row.get(c) is None for c in required):
                raise ProvinceDataError(path, line, "wrong number of fields")
            out.append((line, {k: (v or "").strip() for k, v in row.items()}))
        return out


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ProvinceDataError(path, None, "file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProvinceDataError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None


def working_day_minutes(calendar: dict[str, Any]) -> int:
    """Return the length of one working day in minutes, from the office hours."""
    total = 0
    for start, end in calendar.get("office_hours", []):
        sh, sm = (int(x) for x in start.split(":"))
        eh, em = (int(x) for x in end.split(":"))
        total += (eh * 60 + em) - (sh * 60 + sm)
    return total


def parse_duration(value: str, day_minutes: int) -> int | None:
    """Return working minutes for "90m", "8h" or "3d" (d = one working day), None if malformed."""
    match = _DURATION.match(value or "")
    if not match:
        return None
    amount, unit = float(match.group(1)), match.group(2)
    minutes = amount * {"m": 1, "h": 60, "d": day_minutes}[unit]
    return int(round(minutes)) if minutes > 0 else None


def read_province(folder: Path) -> ProvinceFiles:
    """Read and check every file of a province folder.

    The files are read in the order they refer to each other (agencies before the
    categories that name them, categories before keywords and SLA policies), so each
    reader only checks references to what is already read.

    Args:
        folder: e.g. config/provinces/daklak.

    Returns:
        The checked data.

    Raises:
        ProvinceDataError: naming the file and line of the first problem found.
    """
    if not folder.is_dir():
        raise ProvinceDataError(folder, None, "province folder not found")
    province = _json(folder / "province.json")
    calendar = _json(folder / "calendar.json")
    ivr = _json(folder / "ivr.json")
    day_minutes = working_day_minutes(calendar)
    if day_minutes <= 0:
        raise ProvinceDataError(folder / "calendar.json", None, "office_hours give no working time")
    agencies = _read_agencies(folder / "agencies.csv")
    agency_codes = {a["code"] for a in agencies}
    communes = _read_communes(folder / "communes.csv")
    categories = _read_categories(folder / "categories.csv", agency_codes)
    category_codes = {c["code"] for c in categories}
    area_agencies = _read_area_agencies(
        folder / "area_agencies.csv",
        category_codes,
        agency_codes,
        {c["former_province"] for c in communes},
    )
    keywords = _read_keywords(folder / "routing_keywords.csv", category_codes)
    sla_policies = _read_sla_policies(folder / "sla_policies.csv", category_codes, day_minutes)
    for key, code in (ivr.get("category_keys") or {}).items():
        if code is not None and code not in category_codes:
            raise ProvinceDataError(
                folder / "ivr.json", None, f"key {key}: unknown category {code!r}"
            )
    return ProvinceFiles(
        folder,
        province,
        agencies,
        communes,
        categories,
        area_agencies,
        keywords,
        sla_policies,
        calendar,
        ivr,
    )


def _read_agencies(path: Path) -> list[dict[str, Any]]:
    """Read agencies.csv: unique codes, known kinds; notify_new_tickets defaults to yes."""
    agencies: list[dict[str, Any]] = []
    codes: set[str] = set()
    for line, row in _rows(path, ("code", "name", "kind")):
        if not row["code"] or not row["name"]:
            raise ProvinceDataError(path, line, "code and name are required")
        if row["kind"] not in AGENCY_KINDS:
            raise ProvinceDataError(
                path, line, f"kind {row['kind']!r} is not one of {AGENCY_KINDS}"
            )
        if row["code"] in codes:
            raise ProvinceDataError(path, line, f"duplicate agency code {row['code']!r}")
        codes.add(row["code"])
        notify = row.get("notify_new_tickets", "yes").lower() not in ("no", "false", "0")
        agencies.append({**row, "notify_new_tickets": notify, "emails": row.get("emails", "")})
    return agencies


def _read_communes(path: Path) -> list[dict[str, Any]]:
    """Read communes.csv: a name, a type xã or phường, no commune listed twice."""
    communes: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for line, row in _rows(path, ("name", "type", "former_district", "former_province")):
        if not row["name"]:
            raise ProvinceDataError(path, line, "name is required")
        if row["type"] not in COMMUNE_TYPES:
            raise ProvinceDataError(path, line, f"type {row['type']!r} must be 'xã' or 'phường'")
        key = (row["type"], row["name"])
        if key in seen:
            raise ProvinceDataError(path, line, f"duplicate commune {row['type']} {row['name']}")
        seen.add(key)
        communes.append(row)
    return communes


def _read_categories(path: Path, agency_codes: set[str]) -> list[dict[str, Any]]:
    """Read categories.csv: unique codes, known scopes, an agency (if any) that exists."""
    categories: list[dict[str, Any]] = []
    codes: set[str] = set()
    for line, row in _rows(path, ("code", "name_vi", "name_en", "scope", "agency")):
        if not row["code"] or not row["name_vi"]:
            raise ProvinceDataError(path, line, "code and name_vi are required")
        if row["scope"] not in SCOPES:
            raise ProvinceDataError(path, line, f"scope {row['scope']!r} is not one of {SCOPES}")
        if row["agency"] and row["agency"] not in agency_codes:
            raise ProvinceDataError(path, line, f"unknown agency {row['agency']!r}")
        if row["code"] in codes:
            raise ProvinceDataError(path, line, f"duplicate category code {row['code']!r}")
        codes.add(row["code"])
        categories.append(row)
    return categories


def _read_area_agencies(
    path: Path, category_codes: set[str], agency_codes: set[str], provinces: set[str]
) -> list[dict[str, Any]]:
    """Read the optional area_agencies.csv: who handles a category in a former province."""
    if not path.exists():
        return []
    area_agencies: list[dict[str, Any]] = []
    for line, row in _rows(path, ("category", "former_province", "agency")):
        if row["category"] not in category_codes:
            raise ProvinceDataError(path, line, f"unknown category {row['category']!r}")
        if row["agency"] not in agency_codes:
            raise ProvinceDataError(path, line, f"unknown agency {row['agency']!r}")
        if row["former_province"] not in provinces:
            raise ProvinceDataError(
                path, line, f"no commune has former province {row['former_province']!r}"
            )
        area_agencies.append(row)
    return area_agencies


def _read_keywords(path: Path, category_codes: set[str]) -> list[dict[str, Any]]:
    """Read routing_keywords.csv: a known category, a phrase and a positive weight."""
    keywords: list[dict[str, Any]] = []
    for line, row in _rows(path, ("category", "phrase", "weight")):
        if row["category"] not in category_codes:
            raise ProvinceDataError(path, line, f"unknown category {row['category']!r}")
        if not row["phrase"]:
            raise ProvinceDataError(path, line, "empty phrase")
        try:
            weight = float(row["weight"])
        except ValueError:
            raise ProvinceDataError(
                path, line, f"weight {row['weight']!r} is not a number"
            ) from None
        if weight <= 0:
            raise ProvinceDataError(path, line, "weight must be positive")
        keywords.append({"category": row["category"], "phrase": row["phrase"], "weight": weight})
    return keywords


def _read_sla_policies(
    path: Path, category_codes: set[str], day_minutes: int
) -> list[dict[str, Any]]:
    """Read sla_policies.csv: durations turned into working minutes (d = one working day)."""
    sla_policies: list[dict[str, Any]] = []
    for line, row in _rows(path, ("category", "priority", "acknowledge", "resolve")):
        if row["category"] not in category_codes:
            raise ProvinceDataError(path, line, f"unknown category {row['category']!r}")
        if row["priority"] not in PRIORITIES:
            raise ProvinceDataError(
                path, line, f"priority {row['priority']!r} is not one of {PRIORITIES}"
            )
        ack = parse_duration(row["acknowledge"], day_minutes)
        res = parse_duration(row["resolve"], day_minutes)
        if ack is None or res is None:
            raise ProvinceDataError(path, line, "durations must look like 90m, 8h or 3d")
        sla_policies.append({**row, "acknowledge_minutes": ack, "resolve_minutes": res})
    return sla_policies
