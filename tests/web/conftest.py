"""Fixtures of the staff UI tests: the English catalog compiled, signed-in clients."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from hotline.staff.choices import invalidate_choices
from tests.web.staff_helpers import login, make_user, staff_client

CATALOG = Path(__file__).resolve().parents[2] / "hotline" / "translations" / "en" / "LC_MESSAGES"


def compile_english_catalog() -> None:
    """Compile messages.po when its .mo is missing or older (what `make install` does).

    Written to a file of this process's own and renamed over the .mo, so that parallel
    workers never read a half-written catalog.
    """
    po, mo = CATALOG / "messages.po", CATALOG / "messages.mo"
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale="en")
        partial = mo.with_name(f"messages.mo.{os.getpid()}")
        with partial.open("wb") as handle:
            write_mo(handle, catalog)
        os.replace(partial, mo)


def pytest_configure(config):
    """Have the English catalog compiled before any page is rendered."""
    compile_english_catalog()


@pytest.fixture
def signed_in(app):
    """Return a function: signed_in(role, agency_code=None) -> (client, user)."""

    def sign_in(role: str, agency_code: str | None = None, name: str | None = None):
        user = make_user(role, agency_code, name)
        client = staff_client(app)
        login(client, user)
        return client, user

    return sign_in


@pytest.fixture
def anon(app):
    """A client nobody signed in with."""
    return staff_client(app)


@pytest.fixture(autouse=True)
def _fresh_reference_choices(app):
    """Forget the staff forms' cached reference lists: tests reload reference data."""
    with app.app_context():
        invalidate_choices()
