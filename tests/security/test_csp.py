"""CSP without inline script: every page, for every role, has no inline script at all.

Browser-free: each GET route of the app (walked from the URL map) is rendered for a citizen
and for each staff role, plus the pages only a POST renders (form errors, a tracking result),
and the HTML is parsed for inline `<script>` bodies, `on*=` handlers and `javascript:` URLs.
"""

from __future__ import annotations

import pytest

from hotline.security import CSP
from tests.intake.conftest import csrf_token
from tests.security.pages import ROLES, client_for, make_page_records, page_urls, script_problems


def html_pages(client, urls):
    """Yield (url, response) for each URL that answers HTML."""
    for url in urls:
        response = client.get(url)
        if response.mimetype == "text/html":
            yield url, response


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "public")
def test_no_page_needs_inline_script(app, role):
    """Test that no page any role can open carries inline script, event-handler attributes or
    javascript: URLs, and that each is served with the strict CSP."""
    records = make_page_records()
    client = client_for(app, role)
    seen, problems = 0, {}
    for url, response in html_pages(client, page_urls(app, records)):
        assert response.headers["Content-Security-Policy"] == CSP, url
        found = script_problems(response.get_data(as_text=True))
        if found:
            problems[url] = found
        seen += response.status_code == 200
    assert not problems, problems
    assert seen >= 5


def test_pages_rendered_by_posts_have_no_inline_script(app):
    """Test that the pages a citizen sees after posting (form errors, a tracking result, the
    success page, a failed login) carry no inline script either."""
    records = make_page_records()
    client = client_for(app, None)
    token = csrf_token(client, "/")
    answers = {
        "report errors": client.post("/", data={"csrf_token": token, "description": "x"}),
        "tracking result": client.post(
            "/track",
            data={"csrf_token": token, "code": records.values["code"], "phone_last4": "5678"},
        ),
        "login refused": client.post(
            "/login", data={"csrf_token": token, "email": "a@b.vn", "password": "sai-mat-khau"}
        ),
        "rating form": client.get(f"/r/{records.rating_token}"),
    }
    for name, response in answers.items():
        assert response.mimetype == "text/html", name
        assert script_problems(response.get_data(as_text=True)) == [], name


def test_the_checker_finds_what_it_looks_for():
    """Test that the HTML checker flags inline script, handlers and script URLs, however
    written, and leaves script files and plain links alone."""
    bad = (
        "<script>alert(1)</script>"
        '<img src=x OnError="alert(1)">'
        '<a href=" JavaScript:alert(1)">x</a>'
        '<a href="&#106;avascript:alert(1)">x</a>'
        '<form action="javascript:alert(1)"></form>'
    )
    assert len(script_problems(bad)) == 5
    good = '<script src="/static/app.js"></script><a href="/track">x</a><p>onboarding</p>'
    assert script_problems(good) == []
