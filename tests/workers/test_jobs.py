"""The worker jobs: paths and schedule resolve, and a real RQ worker routes and sweeps."""

from __future__ import annotations

from rq.utils import import_attribute
from sqlalchemy import select

from hotline.extensions import db
from hotline.jobs import JOB_PATHS
from hotline.models import OutboxMessage, Ticket
from hotline.tickets import services
from workers.schedule import SCHEDULE
from workers.worker import make_worker

MY_JOBS = ("route_ticket", "sla_sweep", "send_outbox_message", "flush_outbox", "send_digests")


def test_job_paths_and_schedule_resolve():
    """Test that the worker jobs resolve, and the schedule runs the sweep and the outbox flush
    every minute and the digest at 07:00."""
    for name in MY_JOBS:
        assert callable(import_attribute(JOB_PATHS[name]))
    by_func = {job.func: job for job in SCHEDULE}
    for job in SCHEDULE:
        assert callable(import_attribute(job.func))
    assert by_func["workers.jobs.sla_sweep"].interval == 60
    assert by_func["workers.jobs.flush_outbox"].interval == 60
    assert by_func["workers.jobs.send_digests"].cron == "0 7 * * *"


def test_a_worker_routes_new_tickets_and_sweeps(app, smtp_server, fake_twilio):
    """Test that a ticket opened with routing on is assigned by a real worker within one burst,
    its receipt SMS and the agency's email go out, and the sweep and digest jobs run."""
    ticket = services.create_ticket(
        services.Report(
            "api",
            "Khu vực phường Tân Lập mất điện từ 2 giờ chiều đến giờ chưa có lại",
            phone="+84912345678",
        )
    )
    queue_names = list(app.config["RQ_QUEUES"])
    make_worker(app, queue_names).work(burst=True)
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == "assigned" and ticket.agency.code == "dien-luc"
    templates = set(db.session.execute(select(OutboxMessage.template)).scalars())
    assert templates == {"receipt", "new_ticket"}
    assert set(db.session.execute(select(OutboxMessage.status)).scalars()) == {"sent"}
    assert len(smtp_server.messages) == 1 and len(fake_twilio.requests) == 1
    from hotline.jobs import get_queue

    sweep_job = get_queue("default").enqueue("workers.jobs.sla_sweep")
    digest_job = get_queue("low").enqueue("workers.jobs.send_digests")
    make_worker(app, queue_names).work(burst=True)
    assert sweep_job.get_status() == "finished" and sweep_job.return_value()["checked"] == 0
    assert digest_job.get_status() == "finished"
