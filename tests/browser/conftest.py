"""Browser tests: the app served on 127.0.0.1, Debian's chromium driven by Playwright.

Each xdist worker serves its app on a port of its own (a free one) and launches chromium
once. Every wait is for a condition (Playwright's `expect` and `wait_for_*`), never a fixed
time: under load a page may take longer, and a test then waits longer instead of failing.

A failed test leaves a full-page screenshot in test-artifacts/. Without /usr/bin/chromium
the tests are skipped with the reason (a failure on CI, where .ci/run installs `chromium`).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from hotline.staff.choices import invalidate_choices

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# How long a condition may take to come true: generous, because the machine may be busy
# (two workers, chromium and the database on two cores); a passing wait returns at once.
WAIT_MS = 20_000
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    """Skip the browser tests, saying why, when Debian's chromium is not installed."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures know whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def read_in_full(app):
    """Wrap APP so that it answers with bodies already read (and its iterables closed).

    Werkzeug's development server skips `close()` of a response when the client resets the
    connection while the server drains the request (chromium leaving a page during a font
    download): the static file then stays open until collected, a ResourceWarning that
    this suite turns into an error.
    """

    def wsgi(environ, start_response):
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return wsgi


class LiveServer:
    """The app on 127.0.0.1 at a free port, served by werkzeug in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, read_in_full(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(app):
    """The URL of the app served for the browser (the test database, the test Redis)."""
    with LiveServer(app) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, for the whole session."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)  # its default, 5 s, fails tests on a busy machine
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server, request):
    """Return a function opening a page in a fresh browser context (its own cookies).

    Page errors (uncaught JavaScript exceptions, CSP refusals) are collected on
    `page.errors`; a failed test saves a screenshot of every page it opened.
    """
    pages = []

    def open_page():
        context = browser.new_context(
            base_url=live_server, locale="vi-VN", viewport={"width": 1366, "height": 900}
        )
        # No favicon is served; its 404 would otherwise count as a page error.
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: page.errors.append(msg.text) if msg.type == "error" else None,
        )
        pages.append(page)
        return page

    yield open_page
    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    for n, page in enumerate(pages):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            page.screenshot(path=str(ARTIFACTS / f"{name}-{n}.png"), full_page=True)
        page.context.close()


@pytest.fixture
def page(new_page):
    """One browser page."""
    return new_page()


@pytest.fixture(autouse=True)
def _fresh_reference_choices(app):
    """Forget the staff forms' cached reference lists: tests reload reference data."""
    with app.app_context():
        invalidate_choices()
