"""Tests of the intake hot path: what one report costs in SQL and Redis, and code clashes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rq import Queue
from sqlalchemy import event, func, select

from hotline.extensions import db
from hotline.intake.common import parse_lookup
from hotline.models import InboundMessage, Ticket, TicketEvent
from hotline.tickets import services
from hotline.tickets.codes import new_code
from hotline.tickets.services import InboundRecord, open_ticket
from hotline.timeutil import utcnow
from tests import factories
from tests.intake.conftest import routing_job_ids, twilio_post, twiml

SMS = {
    "MessageSid": "SM" + "f" * 32,
    "From": "+84912345678",
    "To": "+842623001022",
    "Body": "Đèn đường hỏng cả tuần nay ở tổ dân phố 3",
    "NumMedia": "0",
}
END_MARKER = "hotline-test-end-of-commands"


@contextmanager
def sql_statements() -> Iterator[list[str]]:
    """Collect the SQL statements the app's engine runs inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()).upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@contextmanager
def redis_commands(redis_conn) -> Iterator[list[str]]:
    """Collect the commands the real Redis runs on the test database inside the block.

    MONITOR streams every command of the server; only those on our database count, and an
    ECHO of a marker tells where the block ended.
    """
    commands: list[str] = []
    db_number = redis_conn.connection_pool.connection_kwargs.get("db", 0)
    with redis_conn.monitor() as monitor:
        yield commands
        redis_conn.echo(END_MARKER)
        while True:
            item = monitor.next_command()
            if END_MARKER in item["command"]:
                break
            if int(item["db"]) == int(db_number):
                commands.append(item["command"])


def test_sms_report_is_three_inserts_and_one_redis_transaction(client, redis_conn):
    """Test that a new SMS report costs three INSERTs, no SELECT, and one MULTI/EXEC.

    No look-up of the delivery (its unique key catches replays), no look-up of the code
    (its unique index catches clashes), and no look-up of the routing job (its id is new).
    """
    with redis_commands(redis_conn) as commands, sql_statements() as statements:
        response = twilio_post(client, "/twilio/sms", SMS)
    assert response.status_code == 200
    assert [s.split(" ")[0:3] for s in statements] == [
        ["INSERT", "INTO", "TICKETS"],
        ["INSERT", "INTO", "TICKET_EVENTS"],
        ["INSERT", "INTO", "INBOUND_MESSAGES"],
    ]
    verbs = [c.split(" ")[0].strip('"').upper() for c in commands]
    assert verbs.count("MULTI") == 1 and verbs.count("EXEC") == 1
    assert not {"HGETALL", "LREM", "EXISTS"} & set(verbs)
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert routing_job_ids(redis_conn) == [f"route-{ticket.id}"]
    assert ticket.code in twiml(response).find("Message").text


def test_sms_replay_is_caught_by_the_unique_key(client, redis_conn):
    """Test that a replayed delivery, refused by its unique key, answers the stored code."""
    first = twiml(twilio_post(client, "/twilio/sms", SMS)).find("Message").text
    second = twiml(twilio_post(client, "/twilio/sms", SMS)).find("Message").text
    db.session.rollback()
    assert first == second
    assert db.session.execute(select(func.count(Ticket.id))).scalar_one() == 1
    assert db.session.execute(select(func.count(TicketEvent.id))).scalar_one() == 1
    assert len(routing_job_ids(redis_conn)) == 1


def test_code_clash_retries_with_another_code(monkeypatch, redis_conn):
    """Test that a random code already taken is caught by the unique index and replaced."""
    taken = factories.ticket()
    spare = new_code(utcnow())
    while spare == taken.code:
        spare = new_code(utcnow())
    codes = iter([taken.code, spare])
    monkeypatch.setattr(services, "new_code", lambda now: next(codes))
    ticket, created = open_ticket(
        channel="sms",
        description="Nước sinh hoạt đục ba ngày nay",
        phone="+84912345678",
        inbound=InboundRecord("sms", "SM-clash"),
    )
    assert created
    assert ticket.code == spare
    db.session.rollback()
    assert db.session.execute(select(func.count(Ticket.id))).scalar_one() == 2
    assert db.session.execute(select(func.count(InboundMessage.id))).scalar_one() == 1
    # The first attempt was rolled back with its routing job: only the stored ticket's.
    assert routing_job_ids(redis_conn) == [f"route-{ticket.id}"]


def test_jobs_of_one_commit_are_pushed_in_one_transaction(redis_conn):
    """Test that the routing and receipt jobs of an API ticket reach Redis in one MULTI/EXEC."""
    with redis_commands(redis_conn) as commands:
        ticket, _created = open_ticket(
            channel="api", description="Cây đổ chắn ngang đường", phone="+84912345678"
        )
    verbs = [c.split(" ")[0].strip('"').upper() for c in commands]
    assert verbs.count("EXEC") == 1
    assert routing_job_ids(redis_conn) == [f"route-{ticket.id}"]
    assert len(Queue("default", connection=redis_conn).job_ids) == 1  # the receipt SMS


def test_lookup_parsing_sets_reports_aside_before_folding():
    """Test that only a short message whose first letter is T can be a TRA look-up."""
    code = new_code(utcnow())
    assert parse_lookup(f"- Trà cứu: {code[:2]} {code[2:]}") == parse_lookup(f"TRA {code}")
    assert parse_lookup(f"tra{code}").valid
    assert parse_lookup(f"Khu phố 3 mất điện, TRA {code}") is None
    assert parse_lookup(f"TRA {code}" + " " * 30 + "0" * 30) is None  # too long for a command
