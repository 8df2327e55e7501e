"""Tests of /admin: agencies, users, categories, keywords, SLA policies, calendar; all audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import AuditEntry, CalendarDay, RoutingKeyword, SlaPolicy, Ticket, User
from hotline.routing.services import get_router
from hotline.sla.cycle import get_calendar, targets_for
from hotline.staff.choices import reference_choices
from hotline.timeutil import utcnow
from tests.web.staff_helpers import (
    PASSWORD,
    agency,
    category,
    csrf_from,
    login,
    make_user,
    staff_client,
)


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def _post(client, path: str, data: dict, form_page: str | None = None):
    page = client.get(form_page or path)
    return client.post(path, data={"csrf_token": csrf_from(page), **data})


@pytest.mark.mutates_reference
def test_agency_emails_are_checked_saved_and_audited(signed_in):
    """Test that an agency's notification emails are validated, normalised and audited."""
    client, admin = signed_in("admin")
    power = agency("dien-luc")
    path = f"/admin/agencies/{power.id}"
    base = {"code": power.code, "name": power.name, "kind": power.kind, "active": "y"}
    bad = _post(client, path, {**base, "emails": "ok@daklak.gov.vn, not-an-email"})
    assert bad.status_code == 400 and "Email không hợp lệ: not-an-email" in bad.get_data(
        as_text=True
    )
    good = _post(client, path, {**base, "emails": "A@DakLak.gov.vn; b@daklak.gov.vn"})
    assert good.status_code == 303
    db.session.expire_all()
    assert agency("dien-luc").emails == "a@daklak.gov.vn, b@daklak.gov.vn"
    entry = _audit("admin.agency.update")[0]
    assert entry.actor_id == admin.id and entry.target == "agency:dien-luc"
    assert entry.data["changes"]["notify_new_tickets"] == [True, False]
    assert "emails" in entry.data["changes"]


def test_admin_creates_a_user_who_can_sign_in(app, signed_in):
    """Test creating an agent (agency required), then signing in with the password set."""
    client, _ = signed_in("admin")
    form = {
        "email": "Moi@Test.1022.vn",
        "name": "Cán bộ mới",
        "role": "agent",
        "active": "y",
        "password": "mot-mat-khau-dai",
    }
    missing = _post(client, "/admin/users/new", form)
    assert missing.status_code == 400
    assert "phải thuộc một đơn vị" in missing.get_data(as_text=True)
    done = _post(client, "/admin/users/new", {**form, "agency": str(agency("dien-luc").id)})
    assert done.status_code == 303
    user = db.session.execute(select(User).filter_by(email="moi@test.1022.vn")).scalar_one()
    assert user.agency_id == agency("dien-luc").id
    entry = _audit("admin.user.create")[0]
    assert entry.data["changes"]["password"] == ["***", "***"]
    assert "mot-mat-khau-dai" not in str(entry.data)
    newcomer = staff_client(app)
    page = newcomer.get("/login")
    signed = newcomer.post(
        "/login",
        data={"email": user.email, "password": "mot-mat-khau-dai", "csrf_token": csrf_from(page)},
    )
    assert signed.status_code == 302


def test_admin_unlocks_and_deactivates(app, signed_in):
    """Test unlocking a locked account and deactivating one (its session ends)."""
    client, _ = signed_in("admin")
    agent = make_user("agent", "dien-luc")
    agent_client = staff_client(app)
    login(agent_client, agent)
    row = db.session.get(User, agent.id)
    row.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    unlock = _post(client, f"/admin/users/{agent.id}/unlock", {}, form_page="/admin/users")
    assert unlock.status_code == 303
    assert db.session.get(User, agent.id).locked_until is None
    form = {"email": agent.email, "name": agent.name, "role": "agent"}
    form["agency"] = str(agent.agency_id)
    off = _post(client, f"/admin/users/{agent.id}", form)  # "active" unticked
    assert off.status_code == 303
    assert agent_client.get("/staff/tickets").status_code == 302
    assert {e.action for e in db.session.execute(select(AuditEntry)).scalars()} >= {
        "admin.user.unlock",
        "admin.user.update",
    }
    assert db.session.get(User, agent.id).check_password(PASSWORD)


def test_admin_cannot_remove_their_own_admin_role(signed_in):
    """Test that an admin cannot lock themselves out by changing their own role."""
    client, admin = signed_in("admin")
    form = {"email": admin.email, "name": admin.name, "role": "operator", "active": "y"}
    response = _post(client, f"/admin/users/{admin.id}", form)
    assert response.status_code == 400
    assert db.session.get(User, admin.id).role == "admin"


@pytest.mark.mutates_reference
def test_keywords_added_and_removed_are_audited(signed_in):
    """Test adding a routing keyword (normalised) and deleting it, both audited."""
    client, _ = signed_in("admin")
    power = category("dien")
    path = f"/admin/categories/{power.id}"
    text = "Nhà tôi bị chập cháy công tơ từ tối qua"
    assert "chập cháy công tơ" not in get_router().classifier.classify(text).matched  # cached
    added = _post(
        client,
        f"/admin/categories/{power.id}/keywords",
        {"phrase": "  Chập   CHÁY công tơ ", "weight": "4"},
        path,
    )
    assert added.status_code == 303
    keyword = db.session.execute(
        select(RoutingKeyword).filter_by(category_id=power.id, phrase="chập cháy công tơ")
    ).scalar_one()
    assert keyword.weight == 4.0
    assert "chập cháy công tơ" in client.get(path).get_data(as_text=True)
    assert "chập cháy công tơ" in get_router().classifier.classify(text).matched  # at once
    removed = _post(client, f"/admin/keywords/{keyword.id}/delete", {}, path)
    assert removed.status_code == 303
    assert db.session.get(RoutingKeyword, keyword.id) is None
    assert [e.data["phrase"] for e in _audit("admin.keyword.delete")] == ["chập cháy công tơ"]


@pytest.mark.mutates_reference
def test_category_edit_is_audited(signed_in):
    """Test that renaming a category records old and new values."""
    client, _ = signed_in("admin")
    road = category("giao-thong")
    form = {
        "code": road.code,
        "name_vi": "Giao thông vận tải",
        "name_en": road.name_en,
        "scope": road.scope,
        "agency": str(road.agency_id),
        "active": "y",
    }
    names = dict(reference_choices().category_options("vi"))  # cached in this process
    assert names[road.id] == "Giao thông"
    assert _post(client, f"/admin/categories/{road.id}", form).status_code == 303
    entry = _audit("admin.category.update")[0]
    assert entry.data["changes"]["name_vi"] == ["Giao thông", "Giao thông vận tải"]
    # The staff forms show the new name at once, not after the cache's minute.
    assert dict(reference_choices().category_options("vi"))[road.id] == "Giao thông vận tải"


@pytest.mark.mutates_reference
def test_sla_policy_edit_in_working_hours(signed_in):
    """Test editing a policy in hours; minutes are stored and the change audited."""
    client, _ = signed_in("admin")
    policy = db.session.execute(
        select(SlaPolicy).filter_by(category_id=category("dien").id, priority="urgent")
    ).scalar_one()
    urgent_power_cut = Ticket(category_id=policy.category_id, priority="urgent")
    before = targets_for(urgent_power_cut)  # the policies are now cached in this process
    form = {"acknowledge_hours": "0.5", "resolve_hours": "3", "at_risk_percent": "80"}
    bad = _post(client, f"/admin/sla/{policy.id}", {**form, "resolve_hours": "0.25"})
    assert bad.status_code == 400
    assert _post(client, f"/admin/sla/{policy.id}", form).status_code == 303
    db.session.expire_all()
    fresh = db.session.get(SlaPolicy, policy.id)
    assert (fresh.acknowledge_minutes, fresh.resolve_minutes, fresh.at_risk_ratio) == (30, 180, 0.8)
    assert _audit("admin.sla.update")[0].target == "sla:dien:urgent"
    after = (timedelta(minutes=30), timedelta(minutes=180), 0.8)
    assert before != after and targets_for(urgent_power_cut) == after  # at once, not in a minute


@pytest.mark.mutates_reference
def test_calendar_day_changes_the_working_calendar_at_once(signed_in):
    """Test that adding a make-up working Saturday is audited and the calendar sees it at once."""
    client, _ = signed_in("admin")
    saturday = date(2026, 10, 10)
    assert not get_calendar().is_working_day(saturday)
    response = _post(
        client, "/admin/calendar", {"day": saturday.isoformat(), "kind": "work", "name": "Làm bù"}
    )
    assert response.status_code == 303
    assert get_calendar().is_working_day(saturday)
    again = _post(client, "/admin/calendar", {"day": saturday.isoformat(), "kind": "off"})
    assert again.status_code == 400 and "Ngày này đã có" in again.get_data(as_text=True)
    row = db.session.execute(select(CalendarDay).filter_by(day=saturday)).scalar_one()
    deleted = _post(client, f"/admin/calendar/{row.id}/delete", {}, "/admin/calendar")
    assert deleted.status_code == 303
    assert not get_calendar().is_working_day(saturday)
    assert [e.action for e in db.session.execute(select(AuditEntry)).scalars()] == [
        "auth.login",
        "admin.calendar.create",
        "admin.calendar.delete",
    ]
