"""Helpers of the security tests: every GET page of the app, for each role, and an HTML checker.

`page_urls` walks the URL map, so a page added later is covered without touching the tests;
the records its URLs need (a ticket of each kind, an agency, a user...) are made here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from flask import Flask
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Agency, Category, SlaPolicy, User
from hotline.notifications.links import new_rating_token
from tests.web.staff_helpers import login, make_ticket, make_user, staff_client

STAFF_ROLES = ("operator", "agent", "agency_head", "supervisor", "admin")
ROLES = (None, *STAFF_ROLES)  # None: a citizen, not signed in
AGENCY = "dien-luc"
# Routes that never answer HTML, or whose page needs a state the walk cannot give.
NOT_PAGES = {"static", "metrics.metrics", "staff.attachment", "simulator.api_inbox"}
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?(\w+)>")
# Any scheme that runs script when followed; "javascript:" hides behind spaces and case.
_SCRIPT_URL = re.compile(r"^\s*(javascript|vbscript|data:text/html)", re.I)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "background"}


@dataclass
class PageRecords:
    """The records the walk puts in URLs, and the rating token of the answered ticket."""

    values: dict[str, str]
    rating_token: str


def make_page_records() -> PageRecords:
    """Create a published answer (the agency's ticket), and look up reference rows."""
    ticket = make_ticket("closed", AGENCY, phone="+84912345678")
    token, token_hash = new_rating_token()
    ticket.rating_token_hash = token_hash
    ticket.public_answer = ticket.public_answer or "Đã khắc phục xong sự cố điện."
    db.session.commit()
    user = make_user("agent", AGENCY)
    values = {
        "code": ticket.code,
        "agency_id": str(db.session.execute(select(Agency.id).filter_by(code=AGENCY)).scalar()),
        "category_id": str(db.session.execute(select(Category.id)).scalars().first()),
        "policy_id": str(db.session.execute(select(SlaPolicy.id)).scalars().first()),
        "user_id": str(db.session.get(User, user.id).id),
        "token": token,
        "request_id": ticket.code,
        "fmt": "json",
    }
    return PageRecords(values, token)


def page_urls(app: Flask, records: PageRecords) -> list[str]:
    """Every GET route of APP with its arguments filled in (JSON, XML and CSV ones too:
    the caller keeps the HTML answers)."""
    urls = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in NOT_PAGES:
            continue
        if rule.endpoint.startswith("rq_dashboard."):
            continue  # a third-party UI with its own CSP: tests/security/test_rq_dashboard.py
        url = _ARGUMENT.sub(lambda m: records.values[m.group(1)], rule.rule)
        urls.add(url)
    return sorted(urls)


def client_for(app: Flask, role: str | None):
    """A client signed in as a new member of staff with ROLE (None: nobody)."""
    client = staff_client(app)
    if role is not None:
        login(client, make_user(role, AGENCY if role in ("agent", "agency_head") else None))
    return client


class ScriptAudit(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block or what runs script anyway."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> event-handler attribute")
            if name in URL_ATTRIBUTES and value and _SCRIPT_URL.match(value):
                self.problems.append(f"<{tag} {name}={value[:40]!r}> script URL")
        if tag == "script":
            self._in_script = not any(name == "src" for name, _ in attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline <script> body: {data.strip()[:60]!r}")


def script_problems(html: str) -> list[str]:
    """Return what in HTML needs inline script, event handlers or javascript: URLs."""
    audit = ScriptAudit()
    audit.feed(html)
    audit.close()
    return audit.problems
