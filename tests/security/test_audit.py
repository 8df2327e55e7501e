"""The audit trail: staff sign-ins, every admin change, exports, CLI accounts and keys, and
ticket actions (as the ticket's events), each with who, when and from where."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import AuditEntry, CalendarDay, RoutingKeyword, TicketEvent, User
from tests.web.staff_helpers import (
    PASSWORD,
    agency,
    category,
    csrf_from,
    login,
    make_ticket,
    make_user,
    post_action,
    staff_client,
)


def entries(since: int = 0) -> list[AuditEntry]:
    """Audit entries after id SINCE, oldest first."""
    db.session.expire_all()
    stmt = select(AuditEntry).where(AuditEntry.id > since).order_by(AuditEntry.id)
    return list(db.session.execute(stmt).scalars())


def last_id() -> int:
    """The id of the newest audit entry (0 when none)."""
    return max((e.id for e in entries()), default=0)


def _errors(response) -> list[str]:
    import re

    return re.findall(
        r"invalid-feedback[^>]*>\s*(?:<div>)?([^<]+)", response.get_data(as_text=True)
    )


def post(client, path: str, data: dict, form_page: str | None = None):
    """POST DATA to PATH with the CSRF token of FORM_PAGE (default PATH)."""
    page = client.get(form_page or path)
    return client.post(path, data={"csrf_token": csrf_from(page), **data})


@pytest.mark.mutates_reference
def test_every_admin_post_route_writes_an_audit_entry(app):
    """Test that each change an admin can post (every POST route of /admin, found in the URL
    map) stores an entry naming the admin, the record and the address it came from."""
    admin = make_user("admin")
    client = staff_client(app)
    login(client, admin)
    power, road = agency("dien-luc"), category("giao-thong")
    agent = make_user("agent", "dien-luc")
    done: dict[str, str] = {}  # endpoint -> audit action expected

    def step(endpoint: str, action: str, path: str, data: dict, page: str | None = None):
        before = last_id()
        response = post(client, path, data, page)
        assert response.status_code == 303, (endpoint, _errors(response))
        new = entries(before)
        assert [e.action for e in new] == [action], endpoint
        assert new[0].actor_id == admin.id and new[0].data["ip"] == "127.0.0.1"
        done[endpoint] = action

    agency_form = {"code": "so-moi", "name": "Sở Mới", "kind": "department", "active": "y"}
    step("admin.agency", "admin.agency.create", "/admin/agencies/new", agency_form)
    step(
        "admin.agency",
        "admin.agency.update",
        f"/admin/agencies/{power.id}",
        {"code": power.code, "name": power.name + " (mới)", "kind": power.kind, "active": "y"},
    )
    category_form = {"code": "moi", "name_vi": "Lĩnh vực mới", "name_en": "New", "scope": "local"}
    step("admin.category", "admin.category.create", "/admin/categories/new", category_form)
    page = f"/admin/categories/{road.id}"
    step(
        "admin.add_keyword",
        "admin.keyword.create",
        f"/admin/categories/{road.id}/keywords",
        {"phrase": "hố ga mất nắp", "weight": "3"},
        page,
    )
    keyword = db.session.execute(
        select(RoutingKeyword).filter_by(phrase="hố ga mất nắp")
    ).scalar_one()
    step(
        "admin.delete_keyword",
        "admin.keyword.delete",
        f"/admin/keywords/{keyword.id}/delete",
        {},
        page,
    )
    policy = {
        "priority": "urgent",
        "acknowledge_hours": "1",
        "resolve_hours": "3",
        "at_risk_percent": "70",
    }
    step("admin.add_policy", "admin.sla.update", f"/admin/categories/{road.id}/sla", policy, page)
    step(
        "admin.calendar",
        "admin.calendar.create",
        "/admin/calendar",
        {"day": "2026-10-10", "kind": "work"},
    )
    day = db.session.execute(select(CalendarDay).filter_by(day=date(2026, 10, 10))).scalar_one()
    step(
        "admin.delete_day",
        "admin.calendar.delete",
        f"/admin/calendar/{day.id}/delete",
        {},
        "/admin/calendar",
    )
    user_form = {
        "email": "moi@test.1022.vn",
        "name": "Người mới",
        "role": "supervisor",
        "agency": "",
        "active": "y",
    }
    step(
        "admin.user",
        "admin.user.create",
        "/admin/users/new",
        {**user_form, "password": "mat-khau-rat-la-dai-1022"},
    )
    step(
        "admin.user",
        "admin.user.update",
        f"/admin/users/{agent.id}",
        {
            "email": agent.email,
            "name": agent.name,
            "role": "agent",
            "agency": str(agent.agency_id),
            "active": "y",
            "password": "mat-khau-moi-la-dai-1022",
        },
    )
    step(
        "admin.unlock_user",
        "admin.user.unlock",
        f"/admin/users/{agent.id}/unlock",
        {},
        "/admin/users",
    )
    # Passwords are never written in the log, only that they changed.
    assert "mat-khau" not in str([e.data for e in entries()])
    # The SLA policy form at /admin/sla/<id> is the same change as add_policy's update.
    from hotline.models import SlaPolicy

    urgent = db.session.execute(
        select(SlaPolicy).filter_by(category_id=road.id, priority="urgent")
    ).scalar_one()
    step(
        "admin.sla_policy",
        "admin.sla.update",
        f"/admin/sla/{urgent.id}",
        {"acknowledge_hours": "2", "resolve_hours": "4", "at_risk_percent": "75"},
    )
    admin_posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and "POST" in (rule.methods or ())
    }
    assert admin_posts == set(done), "an admin POST route is not covered by this test"


def test_sign_in_sign_out_and_password_changes_are_audited(app):
    """Test that a successful login, a wrong password, an unknown account, a refused and a
    done password change, and a logout each leave an entry (never the password)."""
    user = make_user("agent", "dien-luc")
    client = staff_client(app)
    before = last_id()
    post(client, "/login", {"email": user.email, "password": "sai-mat-khau"}, "/login")
    post(client, "/login", {"email": "khong-co@test.1022.vn", "password": "x"}, "/login")
    login(client, user)
    page = "/account/password"
    bad = {
        "current_password": "sai",
        "new_password": "mat-khau-moi-123",
        "confirm": "mat-khau-moi-123",
    }
    post(client, page, bad)
    good = {
        "current_password": PASSWORD,
        "new_password": "mat-khau-moi-123",
        "confirm": "mat-khau-moi-123",
    }
    post(client, page, good)
    post(client, "/logout", {}, "/staff/tickets")
    new = entries(before)
    assert [e.action for e in new] == [
        "auth.login_failed",
        "auth.login_failed",
        "auth.login",
        "auth.password_change_refused",
        "auth.password_changed",
        "auth.logout",
    ]
    assert [e.actor_id for e in new] == [user.id, None, user.id, user.id, user.id, user.id]
    assert all(e.data["ip"] == "127.0.0.1" for e in new)
    assert "mat-khau" not in str([e.data for e in new]) and "khong-co" not in str(new[1].data)


def test_csv_exports_are_audited_without_the_search_words(app):
    """Test that downloading the queue or the dashboard as CSV is recorded with the filters,
    the search words reduced to their length (they may be a citizen's phone number)."""
    supervisor = make_user("supervisor")
    client = staff_client(app)
    login(client, supervisor)
    before = last_id()
    response = client.get("/staff/tickets.csv?status=assigned&q=0912345678")
    assert response.status_code == 200
    response.get_data()
    assert client.get("/staff/dashboard.csv?days=30").status_code == 200
    new = entries(before)
    assert [e.action for e in new] == ["staff.export.tickets", "staff.export.dashboard"]
    assert all(e.actor_id == supervisor.id for e in new)
    assert new[0].data["filters"] == {"status": "assigned", "q": "<10 ký tự>"}
    assert "0912345678" not in str(new[0].data)
    assert new[1].data["days"] == 30


def test_cli_accounts_and_api_keys_are_audited(runner, monkeypatch):
    """Test that creating a user or an API key from the shell leaves an entry (no actor: no
    one is signed in) without the password or the key."""
    monkeypatch.setenv("HOTLINE_PASSWORD", "mat-khau-dong-lenh")
    result = runner.invoke(
        args=[
            "hotline",
            "create-user",
            "--email",
            "cli@test.1022.vn",
            "--name",
            "CLI",
            "--role",
            "supervisor",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["hotline", "create-api-key", "ung-dung-311"])
    assert result.exit_code == 0, result.output
    raw_key = result.output.strip().splitlines()[-1]
    new = entries()
    assert [(e.action, e.actor_id) for e in new] == [
        ("cli.user.create", None),
        ("cli.api_key.create", None),
    ]
    user = db.session.execute(select(User).filter_by(email="cli@test.1022.vn")).scalar_one()
    assert new[0].target == f"user:{user.id}"
    assert raw_key not in str(new[1].data) and "mat-khau" not in str(new[0].data)


def test_ticket_actions_are_events_with_their_actor(app):
    """Test that a ticket action taken in the staff UI is an event naming the member of staff
    (the ticket's history is the audit trail of ticket changes)."""
    agent = make_user("agent", "dien-luc")
    client = staff_client(app)
    login(client, agent)
    ticket = make_ticket("assigned", "dien-luc")
    response = post_action(client, ticket.code, "acknowledge")
    assert response.status_code in (302, 303)
    db.session.expire_all()
    event = (
        db.session.execute(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id.desc())
        )
        .scalars()
        .first()
    )
    assert (event.kind, event.actor_id, event.to_status) == (
        "acknowledged",
        agent.id,
        "acknowledged",
    )
