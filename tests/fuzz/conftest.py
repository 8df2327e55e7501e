"""Fixtures of the fuzz tests: a real API key (only its hash is stored)."""

from __future__ import annotations

import pytest

from hotline.extensions import db
from hotline.models import ApiKey


@pytest.fixture
def api_key() -> str:
    """A fresh API key's raw value."""
    row, raw = ApiKey.generate("fuzz")
    db.session.add(row)
    db.session.commit()
    return raw
