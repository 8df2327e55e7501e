"""RQ's dashboard at /admin/rq: admins only, its relaxed CSP on its paths alone, its JSON
escaped and scrubbed, its changes same-origin and audited."""

from __future__ import annotations

import pytest
from rq import Queue
from sqlalchemy import select

from hotline.admin.rq import RQ_CSP
from hotline.extensions import db
from hotline.models import AuditEntry
from hotline.security import CSP
from tests.security.pages import client_for
from workers.worker import make_worker

HOSTILE = "<img src=x onerror=alert(1)> gọi +84912345678"


def failed_job(app, redis_conn):
    """A job that failed with an exception quoting markup and a phone number."""
    job = Queue("default", connection=redis_conn).enqueue("builtins.int", HOSTILE)
    make_worker(app, ["default"]).work(burst=True)
    assert job.get_status(refresh=True) == "failed"
    return job


def test_anonymous_visitors_are_sent_to_the_login_page(app):
    """Test that /admin/rq asks an anonymous visitor to sign in."""
    response = client_for(app, None).get("/admin/rq/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["operator", "agent", "agency_head", "supervisor"])
def test_staff_other_than_admins_get_403(app, role):
    """Test that every staff role but admin is refused the dashboard and its JSON."""
    client = client_for(app, role)
    for path in ("/admin/rq/", "/admin/rq/0/data/queues.json", "/admin/rq/0/view/workers"):
        assert client.get(path).status_code == 403, path


def test_admins_see_the_queues_with_the_relaxed_csp_on_its_paths_only(app, redis_conn):
    """Test that an admin gets the dashboard and its queue counts; its pages carry the CSP
    that allows its inline script, and the other admin pages keep the strict one."""
    Queue("high", connection=redis_conn).enqueue("workers.jobs.ping")
    client = client_for(app, "admin")
    page = client.get("/admin/rq/")
    assert page.status_code == 200 and "RQ dashboard" in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"] == RQ_CSP
    assert "'unsafe-inline' 'unsafe-eval'" in RQ_CSP and "frame-ancestors 'none'" in RQ_CSP
    queues = client.get("/admin/rq/0/data/queues.json").get_json()["queues"]
    assert {q["name"]: q["count"] for q in queues}["high"] == 1
    assert client.get("/admin/").headers["Content-Security-Policy"] == CSP
    assert "/admin/rq/" in client.get("/admin/").get_data(as_text=True)  # linked from the menu


def test_failed_job_details_are_escaped_and_scrubbed(app, redis_conn):
    """Test that a failed job's traceback reaches the dashboard HTML-escaped (its job page
    writes it unescaped) and without the phone number it quoted."""
    job = failed_job(app, redis_conn)
    client = client_for(app, "admin")
    detail = client.get(f"/admin/rq/0/data/job/{job.id}.json").get_json()
    listing = client.get("/admin/rq/0/data/jobs/default/failed/8/asc/1.json").get_json()
    for text in (detail["exc_info"], listing["jobs"][0]["exc_info"]):
        assert "&lt;img src=x onerror=alert(1)&gt;" in text
        assert "<img" not in text and "84912345678" not in text and "<phone>" not in text
        assert "&lt;phone&gt;" in text


def test_changes_need_this_site_as_origin_and_are_audited(app, redis_conn):
    """Test that requeueing a failed job is refused without a same-site Origin (or Referer),
    works with one, and is written in the audit log."""
    job = failed_job(app, redis_conn)
    client = client_for(app, "admin")
    path = f"/admin/rq/job/{job.id}/requeue"
    assert client.post(path).status_code == 403
    assert client.post(path, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.get("/admin/rq/requeue/default").status_code == 403  # the GET variant too
    assert job.get_status(refresh=True) == "failed"
    response = client.post(path, headers={"Origin": "http://localhost"})
    assert response.status_code == 200 and response.get_json() == {"status": "OK"}
    assert job.get_status(refresh=True) == "queued"
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "admin.rq.requeue_job_view")
    ).scalar_one()
    assert entry.target == job.id
    referred = client.post(
        "/admin/rq/queue/default/compact", headers={"Referer": "http://localhost/admin/rq/"}
    )
    assert referred.status_code == 200


def test_unknown_instances_registries_and_pages_are_404(app):
    """Test that what made rq-dashboard raise (a second Redis instance, an unknown registry,
    a page that is not a number) is a 404."""
    client = client_for(app, "admin")
    for path in (
        "/admin/rq/1/view",
        "/admin/rq/0/data/jobs/default/bogus/8/asc/1.json",
        "/admin/rq/0/data/jobs/default/failed/8/asc/x.json",
    ):
        assert client.get(path).status_code == 404, path
