"""Tests of the intake hot path: what one report costs in SQL and Redis, and code clashes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import current_app
from hypothesis import given, settings
from hypothesis import strategies as st
from rq import Queue
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine
from twilio.twiml.messaging_response import MessagingResponse

from hotline.extensions import db
from hotline.intake.common import parse_lookup
from hotline.intake.sms import twiml_message
from hotline.models import InboundMessage, Ticket, TicketEvent
from hotline.routing.services import route_ticket
from hotline.tickets import creation
from hotline.tickets.codes import new_code
from hotline.tickets.services import InboundRecord, NewAttachment, create_ticket, open_ticket
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
    """Collect the SQL statements the app's engines run inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()).upper())

    event.listen(Engine, "before_cursor_execute", record)  # the intake's own engine too
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


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


def test_sms_report_is_one_statement_and_one_redis_transaction(client, redis_conn):
    """Test that a new SMS report costs one INSERT statement on PostgreSQL (three INSERTs
    elsewhere), no SELECT, and one MULTI/EXEC.

    No look-up of the delivery (its unique key catches replays), no look-up of the code
    (its unique index catches clashes), and no look-up of the routing job (its id is new).
    """
    with redis_commands(redis_conn) as commands, sql_statements() as statements:
        response = twilio_post(client, "/twilio/sms", SMS)
    assert response.status_code == 200
    if db.engine.dialect.name == "postgresql":
        assert len(statements) == 1
        assert statements[0].startswith("WITH NEW_TICKET AS (INSERT INTO TICKETS ")
        assert "NEW_EVENT AS (INSERT INTO TICKET_EVENTS " in statements[0]
        assert " INSERT INTO INBOUND_MESSAGES " in statements[0]
    else:
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


@contextmanager
def autocommit_flags() -> Iterator[list[tuple[str, bool]]]:
    """Collect (first words of each statement, whether its connection was in autocommit)."""
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        words = " ".join(statement.split()[:4]).upper()
        seen.append((words, bool(conn.connection.dbapi_connection.autocommit)))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.mark.postgres  # the one-statement path is PostgreSQL's
def test_lone_report_is_one_autocommitted_statement(client, redis_conn):
    """Test that on PostgreSQL a report with no files and no receipt is written by one
    statement outside any transaction: no BEGIN, no COMMIT; its routing job follows."""
    with autocommit_flags() as seen:
        new = create_ticket(
            channel="sms",
            description="Cống thoát nước bị tắc ở hẻm 12",
            phone="+84912345678",
            inbound=InboundRecord("sms", "SM-alone"),
        )
    assert seen == [("WITH NEW_TICKET AS (INSERT", True)]
    assert new.created and routing_job_ids(redis_conn) == [f"route-{new.id}"]
    ticket = db.session.get(Ticket, new.id)
    assert (ticket.code, ticket.status, ticket.version) == (new.code, "received", 1)


@pytest.mark.postgres  # the one-statement path is PostgreSQL's
def test_a_pooled_connection_that_died_is_replaced_once(client, redis_conn):
    """Test that the intake's pool, which pings no connection at checkout, survives a
    connection the database dropped: the statement runs again on a new connection."""
    create_ticket(channel="sms", description="Đèn đường hỏng", inbound=InboundRecord("sms", "SM1"))
    engine = current_app.extensions["hotline_intake_engine"]
    with engine.connect() as connection:  # the one pooled connection
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    db.session.commit()
    new = create_ticket(channel="sms", description="Ngập nước", inbound=InboundRecord("sms", "SM2"))
    assert new.created
    assert db.session.get(Ticket, new.id).description == "Ngập nước"
    assert routing_job_ids(redis_conn) == ["route-1", f"route-{new.id}"]


@pytest.mark.postgres  # the one-statement path is PostgreSQL's
def test_report_with_a_receipt_or_files_is_one_transaction(client, redis_conn):
    """Test that a ticket whose receipt SMS or files are written with it takes a transaction:
    its rows, the outbox row and the attachments commit together."""
    with autocommit_flags() as seen:
        by_voice, _created = open_ticket(
            channel="voice",
            description="Đèn tín hiệu giao thông ngã tư không hoạt động",
            phone="+84912345678",
        )
        with_photo, _created = open_ticket(
            channel="web",
            description="Rác thải đổ trộm bên lề đường",
            attachments=[
                NewAttachment("photo", storage_key="ab/cd.jpg", content_type="image/jpeg")
            ],
        )
    assert all(not autocommit for _words, autocommit in seen)
    assert len(by_voice.attachments) == 0 and len(with_photo.attachments) == 1
    receipt_jobs = Queue("default", connection=redis_conn).job_ids
    assert len(receipt_jobs) == 1  # the voice caller's code by SMS


def test_a_callers_pending_change_is_committed_with_the_ticket(client, redis_conn):
    """Test that a ticket opened while the session holds the caller's uncommitted change is
    written in that transaction (never beside it), so the change is committed too."""
    other = factories.ticket()
    other.address = "Số 5 Lê Duẩn"
    new = create_ticket(channel="sms", description="Mất nước từ sáng đến giờ", phone=None)
    db.session.rollback()
    assert db.session.get(Ticket, other.id).address == "Số 5 Lê Duẩn"
    assert db.session.get(Ticket, new.id).status == "received"


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.text(st.characters(exclude_categories=["Cs", "Cc"], include_characters="\t\n\r")))
def test_sms_twiml_is_what_the_twilio_library_renders(text):
    """Test that the SMS reply, written without an XML tree, is the library's TwiML exactly."""
    expected = MessagingResponse()
    expected.message(text)
    assert twiml_message(text).get_data(as_text=True) == str(expected)


def test_core_insert_writes_what_the_orm_would(client, redis_conn):
    """Test that the rows written without the ORM carry the derived fields and defaults the
    model gives an ORM-written ticket (no deadline, version 1), and that the routing job's
    update writes the folded search text the ORM would have."""
    twilio_post(client, "/twilio/sms", SMS)
    ticket = db.session.execute(select(Ticket)).scalar_one()
    orm_ticket = factories.ticket(description=SMS["Body"], channel="sms")
    assert ticket.search_text is None and orm_ticket.search_text
    for column in ("status", "priority", "version", "sla_cycle", "due_at", "address"):
        assert getattr(ticket, column) == getattr(orm_ticket, column), column
    assert (ticket.public_answer, ticket.answer_published, ticket.rating_comment) == ("", False, "")
    assert ticket.phone == SMS["From"] and ticket.created_at == ticket.updated_at
    event_row = db.session.execute(select(TicketEvent).filter_by(ticket_id=ticket.id)).scalar_one()
    assert (event_row.kind, event_row.to_status, event_row.public) == ("created", "received", True)
    assert event_row.data == {"channel": "sms"} and event_row.actor_label == "citizen"
    delivery = db.session.execute(select(InboundMessage)).scalar_one()
    assert (delivery.ticket_id, delivery.provider_id) == (ticket.id, SMS["MessageSid"])
    ticket_id, code = ticket.id, ticket.code
    db.session.expire_all()
    route_ticket(ticket_id)
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.status != "received"
    assert ticket.search_text == orm_ticket.search_text.replace(orm_ticket.code, code)
    assert " den duong hong ca tuan " in ticket.search_text
    assert delivery.data["provider"] == "twilio" and "+849" not in str(delivery.data)


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
    monkeypatch.setattr(creation, "new_code", lambda now: next(codes))
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
