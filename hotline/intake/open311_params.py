"""Reading Open311 request parameters; a bad one raises `Open311Error` (a GeoReport error)."""

from __future__ import annotations

from datetime import datetime

from flask import request

from hotline.timeutil import as_utc


class Open311Error(Exception):
    """An error answered as the GeoReport error list: one entry per description."""

    def __init__(self, status: int, description: str, *more: str):
        super().__init__("; ".join((description, *more)))
        self.status = status
        self.descriptions = (description, *more)


def query_datetime(name: str) -> datetime | None:
    """Return query parameter NAME as a UTC datetime (a W3C date-time with timezone)."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} must be a W3C date-time, e.g. 2026-01-01T00:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} must include a timezone (Z or +07:00)")
    return as_utc(value)


def query_positive_int(name: str, default: int, maximum: int) -> int:
    """Return query parameter NAME as a whole number from 1 to MAXIMUM (DEFAULT if absent)."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise Open311Error(400, f"{name} must be a whole number from 1 to {maximum}")
    return int(raw)


def query_list(name: str) -> list[str]:
    """Return the comma-delimited values of query parameter NAME."""
    return [v.strip() for v in (request.args.get(name) or "").split(",") if v.strip()]
