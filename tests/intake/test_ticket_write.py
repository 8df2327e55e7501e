"""Tests of how a new ticket is written: one transaction, its rows, its jobs, code clashes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rq import Queue
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from twilio.twiml.messaging_response import MessagingResponse

from hotline.extensions import db
from hotline.intake.common import parse_lookup
from hotline.intake.sms import twiml_message
from hotline.models import InboundMessage, OutboxMessage, Ticket, TicketEvent
from hotline.staff.search import search_condition
from hotline.tickets import creation
from hotline.tickets.codes import new_code
from hotline.tickets.services import InboundRecord, NewAttachment, Report, create_ticket
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

    event.listen(Engine, "before_cursor_execute", record)
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


def test_sms_report_is_one_transaction_and_one_redis_transaction(client, redis_conn):
    """Test that a new SMS report is three INSERTs in one transaction, no SELECT, and one
    MULTI/EXEC, the same on PostgreSQL and SQLite.

    No look-up of the delivery (its unique key catches replays), no look-up of the code
    (its unique index catches clashes), and no look-up of the routing job (its id is new).
    """
    with redis_commands(redis_conn) as commands, sql_statements() as statements:
        response = twilio_post(client, "/twilio/sms", SMS)
    assert response.status_code == 200
    writes = [s for s in statements if s != "SELECT 1"]  # the pool's ping
    assert [s.split(" ")[0:3] for s in writes] == [
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


def test_report_with_a_receipt_and_files_commits_them_together(client, redis_conn):
    """Test that a ticket's receipt SMS and files are written in the ticket's transaction."""
    by_voice = create_ticket(
        Report("voice", "Đèn tín hiệu giao thông ngã tư không hoạt động", phone="+84912345678")
    ).ticket
    photo = NewAttachment("photo", storage_key="ab/cd.jpg", content_type="image/jpeg")
    with_photo = create_ticket(
        Report("web", "Rác thải đổ trộm bên lề đường"), attachments=[photo]
    ).ticket
    assert len(by_voice.attachments) == 0 and len(with_photo.attachments) == 1
    receipts = db.session.execute(select(OutboxMessage).filter_by(template="receipt")).scalars()
    assert [m.ticket_id for m in receipts] == [by_voice.id]  # the voice caller's code by SMS
    assert len(Queue("default", connection=redis_conn).job_ids) == 1


def test_a_failing_file_row_leaves_no_half_written_ticket(client, redis_conn):
    """Test that when a row of the ticket's transaction is refused, nothing of it stays:
    no ticket, no event, no delivery, no receipt, and no routing job in Redis."""
    no_kind = NewAttachment(None, storage_key="ab/cd.jpg")  # type: ignore[arg-type]
    report = Report("voice", "Ngập nước sâu trên đường", phone="+84912345678")
    with pytest.raises(IntegrityError):
        create_ticket(report, inbound=InboundRecord("voice", "CA-fail"), attachments=[no_kind])
    db.session.rollback()
    for model in (Ticket, TicketEvent, InboundMessage, OutboxMessage):
        assert db.session.execute(select(func.count(model.id))).scalar_one() == 0, model
    assert routing_job_ids(redis_conn) == []


def test_a_new_report_is_found_by_its_words_at_once(client, redis_conn):
    """Test that a report is searchable by its words (with or without diacritics) as soon
    as it is stored, before any worker has touched it."""
    twilio_post(client, "/twilio/sms", SMS)
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert ticket.status == "received"
    assert f" {ticket.code} " in ticket.search_text
    assert " den duong hong ca tuan nay o to dan pho 3 " in ticket.search_text
    for words in ("Đèn đường hỏng", "den duong hong"):
        found = select(Ticket.id).where(search_condition(words))
        assert db.session.execute(found).scalars().all() == [ticket.id], words


def test_a_callers_pending_change_is_committed_with_the_ticket(client, redis_conn):
    """Test that a ticket created while the session holds the caller's uncommitted change
    is written in that transaction (never beside it), so the change is committed too."""
    other = factories.ticket()
    other.address = "Số 5 Lê Duẩn"
    new = create_ticket(Report("sms", "Mất nước từ sáng đến giờ"))
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


def test_stored_rows_are_what_the_orm_would_write(client, redis_conn):
    """Test that the rows of a webhook's ticket carry the derived fields and defaults the
    model gives a ticket the ORM writes (search text, no deadline, version 1)."""
    twilio_post(client, "/twilio/sms", SMS)
    ticket = db.session.execute(select(Ticket)).scalar_one()
    orm_ticket = factories.ticket(description=SMS["Body"], channel="sms")
    assert ticket.search_text == orm_ticket.search_text.replace(orm_ticket.code, ticket.code)
    for column in ("status", "priority", "version", "sla_cycle", "due_at", "address"):
        assert getattr(ticket, column) == getattr(orm_ticket, column), column
    assert (ticket.public_answer, ticket.answer_published, ticket.rating_comment) == ("", False, "")
    assert ticket.phone == SMS["From"] and ticket.created_at == ticket.updated_at
    event_row = db.session.execute(select(TicketEvent).filter_by(ticket_id=ticket.id)).scalar_one()
    assert (event_row.kind, event_row.to_status, event_row.public) == ("created", "received", True)
    assert event_row.data == {"channel": "sms"} and event_row.actor_label == "citizen"
    delivery = db.session.execute(select(InboundMessage)).scalar_one()
    assert (delivery.ticket_id, delivery.provider_id) == (ticket.id, SMS["MessageSid"])
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
    new = create_ticket(
        Report("sms", "Nước sinh hoạt đục ba ngày nay", phone="+84912345678"),
        inbound=InboundRecord("sms", "SM-clash"),
    )
    assert new.created
    assert new.code == spare
    db.session.rollback()
    assert db.session.execute(select(func.count(Ticket.id))).scalar_one() == 2
    assert db.session.execute(select(func.count(InboundMessage.id))).scalar_one() == 1
    # The first attempt was rolled back with its routing job: only the stored ticket's.
    assert routing_job_ids(redis_conn) == [f"route-{new.id}"]


def test_jobs_of_one_commit_are_pushed_in_one_transaction(redis_conn):
    """Test that the routing and receipt jobs of an API ticket reach Redis in one MULTI/EXEC."""
    with redis_commands(redis_conn) as commands:
        ticket = create_ticket(Report("api", "Cây đổ chắn ngang đường", phone="+84912345678"))
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
