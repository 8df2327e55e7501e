"""RQ's dashboard in Debian's chromium: it runs under the CSP of its paths, no script refused."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from rq import Queue

from tests.web.staff_helpers import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_rq_dashboard_renders_its_queues_in_a_browser(page, redis_conn):
    """Test that an admin's browser shows the queues and jobs (filled in by the dashboard's
    own script) with no script error and no CSP refusal on the page."""
    Queue("default", connection=redis_conn).enqueue("workers.jobs.ping")
    admin = make_user("admin")
    page.goto("/login")
    page.fill("#email", admin.email)
    page.fill("#password", PASSWORD)
    page.locator("form input[type=submit]").click()
    page.wait_for_url("**/admin/**")
    page.goto("/admin/rq/")
    row = page.locator("table#queues tbody tr", has_text="default")
    # The dashboard's script fills the table after the page loads: wait for the count.
    expect(row.locator("td").nth(1)).to_have_text(re.compile(r"^\s*1\s*$"))
    page.goto("/admin/rq/0/view/jobs/default/queued/8/asc/1")
    expect(page.locator("text=workers.jobs.ping()")).to_be_visible()
    assert page.errors == []
