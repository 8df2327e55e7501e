"""Nothing lost: with Redis down every channel answers 2xx and stores; recovery then enqueues."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from rq import Queue
from sqlalchemy import select, update

from hotline.extensions import db
from hotline.intake.gateway import sign
from hotline.intake.recovery import enqueue_stale_received
from hotline.models import ApiKey, Ticket
from hotline.timeutil import utcnow
from tests import factories
from tests.intake.conftest import (
    GATEWAY_SECRET,
    csrf_token,
    make_limited_app,
    restore_limiter,
    twilio_signature,
)
from workers.worker import make_worker

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _submit_through_every_channel(client) -> list[int]:
    """Post one report per channel; return the HTTP statuses."""
    base = "https://hotline.test"
    statuses = []
    speech = {"CallSid": "CA" + "d" * 32, "From": "0912345678", "SpeechResult": "Cây đổ"}
    statuses.append(
        client.post(
            "/twilio/voice/speech",
            data=speech,
            headers={"X-Twilio-Signature": twilio_signature(base + "/twilio/voice/speech", speech)},
        ).status_code
    )
    sms = {"MessageSid": "SM" + "d" * 32, "From": "0912345678", "Body": "Mất nước"}
    statuses.append(
        client.post(
            "/twilio/sms",
            data=sms,
            headers={"X-Twilio-Signature": twilio_signature(base + "/twilio/sms", sms)},
        ).status_code
    )
    body = json.dumps(
        {"message_id": "gw-outage", "from": "0987654321", "to": "1022", "text": "Ngập đường"}
    ).encode()
    statuses.append(
        client.post(
            "/sms/gateway",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Hotline-Signature": sign(body, GATEWAY_SECRET),
            },
        ).status_code
    )
    form = {
        "description": "Đèn tín hiệu giao thông hỏng ở ngã tư",
        "phone": "0912345678",
        "csrf_token": csrf_token(client),
    }
    statuses.append(client.post("/", data=form).status_code)
    row, raw = ApiKey.generate("outage")
    db.session.add(row)
    db.session.commit()
    statuses.append(
        client.post(
            "/api/v1/tickets",
            json={"description": "Cống thoát nước bị tắc"},
            headers={"X-API-Key": raw},
        ).status_code
    )
    statuses.append(
        client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": raw,
                "service_code": "moi-truong",
                "address_string": "Thôn 1",
                "description": "Khói bụi",
            },
        ).status_code
    )
    return statuses


def test_redis_outage_loses_nothing_and_recovery_enqueues_routing(app, redis_conn):
    """Test that with Redis dead each channel answers 2xx and stores; recovery then routes."""
    down = make_limited_app(REDIS_URL=DEAD_REDIS, RATELIMIT_STORAGE_URI=DEAD_REDIS)
    try:
        client = down.test_client()
        started = time.monotonic()
        statuses = _submit_through_every_channel(client)
        elapsed = time.monotonic() - started
    finally:
        restore_limiter(down)
    assert statuses == [200, 200, 200, 302, 201, 200]
    assert elapsed < 10  # short Redis timeouts: no channel hangs on the dead queue
    db.session.rollback()
    tickets = db.session.execute(select(Ticket).order_by(Ticket.id)).scalars().all()
    assert [t.channel for t in tickets] == ["voice", "sms", "sms", "web", "api", "open311"]
    assert {t.status for t in tickets} == {"received"}
    assert Queue("high", connection=redis_conn).count == 0  # nothing reached the queue

    # Redis is back; a minute later the periodic recovery job runs on a real worker.
    db.session.execute(update(Ticket).values(created_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    Queue("default", connection=redis_conn).enqueue("workers.jobs.recover_received")
    make_worker(app, ["default"]).work(burst=True)
    assert sorted(Queue("high", connection=redis_conn).job_ids) == sorted(
        f"route-{t.id}" for t in tickets
    )


def test_recovery_skips_fresh_and_routed_tickets(redis_conn):
    """Test that recovery leaves tickets under a minute old and tickets already routed."""
    now = utcnow()
    stale = factories.ticket(status="received", now=now - timedelta(minutes=5))
    factories.ticket(status="received", now=now - timedelta(seconds=20))
    factories.ticket(status="assigned", now=now - timedelta(minutes=5))
    assert enqueue_stale_received(now=now) == 1
    assert Queue("high", connection=redis_conn).job_ids == [f"route-{stale.id}"]
    # Running again does not queue the same ticket twice.
    assert enqueue_stale_received(now=now) == 1
    assert Queue("high", connection=redis_conn).count == 1


def test_recovery_job_is_scheduled():
    """Test that the recovery job is in the periodic schedule, every minute."""
    from workers.schedule import SCHEDULE

    job = next(j for j in SCHEDULE if j.func == "workers.jobs.recover_received")
    assert job.interval == 60
