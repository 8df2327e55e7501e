"""Browser test of the commune search-as-you-type (our JS file) in Debian's chromium."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.browser.conftest import read_in_full

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def _search_communes(url: str) -> None:
    """Drive the form at URL in chromium and check the search narrows the communes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        options = page.locator("#commune option")
        assert options.count() == 103  # the prompt and the 102 communes
        for typed in ("buon ma", "Buôn Ma Thuột", "BUON  MA THUOT"):
            page.fill("#commune-search", typed)
            assert options.count() == 2, typed
            assert page.input_value("#commune") == "phuong-buon-ma-thuot"
        page.fill("#commune-search", "ea")
        several = options.count()
        assert several > 3
        page.fill("#commune-search", "")
        assert options.count() == 103
        assert errors == []
        browser.close()


def test_commune_search_with_and_without_diacritics(app):
    """Test that typing "buon ma", "Buôn Ma Thuột" or "BUON  MA THUOT" narrows to one ward."""
    server = make_server("127.0.0.1", 0, read_in_full(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            _search_communes(f"http://127.0.0.1:{server.server_port}/")
        except BaseException as exc:  # re-raised in the test's own thread below
            failures.append(exc)

    try:
        # Its own thread: the browser tests keep a session-wide Playwright whose event loop
        # runs in the main thread, and a second sync Playwright there refuses to start.
        browser_thread = threading.Thread(target=run)
        browser_thread.start()
        browser_thread.join(timeout=120)
        assert not browser_thread.is_alive(), "the browser did not finish in 2 minutes"
        if failures:
            raise failures[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
