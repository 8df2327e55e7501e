"""Browser test of the web form's commune search-as-you-type (our JS file) in Debian's chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

ALL_OPTIONS = 103  # the prompt and the 102 communes


def test_commune_search_with_and_without_diacritics(page: Page):
    """Test that typing "buon ma", "Buôn Ma Thuột" or "BUON  MA THUOT" narrows to one ward."""
    page.goto("/")
    options = page.locator("#commune option")
    expect(options).to_have_count(ALL_OPTIONS)
    for typed in ("buon ma", "Buôn Ma Thuột", "BUON  MA THUOT"):
        page.fill("#commune-search", typed)
        expect(options).to_have_count(2)
        expect(page.locator("#commune")).to_have_value("phuong-buon-ma-thuot")
    page.fill("#commune-search", "ea")
    expect(options).not_to_have_count(ALL_OPTIONS)
    assert 3 < options.count() < ALL_OPTIONS
    page.fill("#commune-search", "")
    expect(options).to_have_count(ALL_OPTIONS)
    assert page.errors == []
