"""RQ's dashboard in Debian's chromium: it runs under the CSP of its paths, no script refused."""

from __future__ import annotations

import pytest
from rq import Queue

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer
from tests.web.staff_helpers import PASSWORD, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing"),
]


def test_dashboard_renders_its_queues_in_a_browser(app, redis_conn):
    """Test that an admin's browser shows the queues (filled by the dashboard's own script)
    with no script or CSP error on the page."""
    from playwright.sync_api import sync_playwright

    Queue("default", connection=redis_conn).enqueue("workers.jobs.ping")
    admin = make_user("admin")
    with LiveServer(app) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=server.url)
            page.set_default_timeout(10_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
            page.goto("/login")
            page.fill("#email", admin.email)
            page.fill("#password", PASSWORD)
            page.locator("form input[type=submit]").click()
            page.wait_for_url("**/admin/**")
            page.goto("/admin/rq/")
            row = page.locator("table#queues tbody tr", has_text="default")
            row.wait_for()
            assert row.locator("td").nth(1).inner_text().strip() == "1"
            page.goto("/admin/rq/0/view/jobs/default/queued/8/asc/1")
            page.locator("text=workers.jobs.ping()").wait_for()
            assert errors == []
        finally:
            browser.close()
