"""The floor of the intake benchmark: a bare Flask route doing one INSERT and one RQ enqueue.

Served by gunicorn exactly like the real app (`--pythonpath bench floor_app:app`); reads
BENCH_DATABASE_URL and BENCH_REDIS_URL.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from redis import Redis
from rq import Queue
from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, insert
from sqlalchemy.dialects.postgresql import BIGINT

engine = create_engine(os.environ["BENCH_DATABASE_URL"], pool_pre_ping=True)
metadata = MetaData()
floor_messages = Table(
    "bench_floor_messages",
    metadata,
    Column("id", BIGINT, primary_key=True, autoincrement=True),
    Column("sid", String(64)),
    Column("body", Text),
)
queue = Queue("high", connection=Redis.from_url(os.environ["BENCH_REDIS_URL"]))
app = Flask(__name__)


@app.post("/twilio/sms")
def sms() -> Response:
    """Store the message, enqueue one job, answer TwiML."""
    with engine.begin() as conn:
        row_id = conn.execute(
            insert(floor_messages)
            .values(sid=request.form.get("MessageSid", ""), body=request.form.get("Body", ""))
            .returning(floor_messages.c.id)
        ).scalar_one()
    queue.enqueue("workers.jobs.ping", str(row_id))
    return Response("<Response><Message>ok</Message></Response>", mimetype="text/xml")


@app.get("/healthz")
def healthz() -> str:
    """Readiness probe for the bench."""
    return "ok"
