"""Applying a form's values to a record and describing what changed, for the audit log."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def apply_changes(record: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set VALUES on RECORD and return {field: [old, new]} for the fields that changed."""
    changed: dict[str, list[Any]] = {}
    for name, new in values.items():
        old = getattr(record, name)
        if old != new:
            changed[name] = [_plain(old), _plain(new)]
            setattr(record, name, new)
    return changed
