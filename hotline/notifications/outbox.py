"""Writing outbox rows in the caller's transaction; sending is the job of `sender`.

Every message has an idempotency key: writing the same key twice keeps the first row, so a
service run twice, two sweeps or two digests never send a message twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table, bindparam, text
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlalchemy.sql.selectable import TextualSelect

from hotline.extensions import db
from hotline.jobs import enqueue_after_commit
from hotline.models import OutboxMessage, Ticket
from hotline.timeutil import utcnow

SEND_QUEUE = "default"


def insert_ignoring_conflicts(
    table: Table, rows: Sequence[dict[str, Any]], returning: Iterable[ColumnElement] = ()
) -> list[Row]:
    """INSERT ROWS into TABLE in the session's transaction, skipping any that break a unique key.

    `INSERT ... ON CONFLICT DO NOTHING` on PostgreSQL and SQLite: unlike a check-then-insert
    it stays correct when two processes insert the same key at the same moment, and unlike a
    savepoint it costs one statement for many rows.

    Args:
        table: the table to insert into.
        rows: the rows, as column -> value dicts (all with the same keys).
        returning: columns to return for the rows actually inserted.

    Returns:
        The returned rows of the inserted rows (empty when RETURNING is empty).
    """
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    stmt: Insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        stmt = postgresql_insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    returning = tuple(returning)
    if returning:
        stmt = stmt.returning(*returning)
    if len(rows) == 1:  # the common case (one message): a statement compiled once
        single = _single_insert(table, tuple(rows[0]), tuple(c.name for c in returning))
        result = db.session.execute(single, dict(rows[0]))
        return list(result.all()) if returning else []
    if not returning:
        db.session.execute(stmt, list(rows))
        return []
    # One statement with a list of parameter sets: SQLAlchemy batches it into multi-row
    # INSERTs ("insertmanyvalues") compiled once, far cheaper than building VALUES lists.
    return list(db.session.execute(stmt, list(rows)).all())


@lru_cache(maxsize=32)
def _single_insert(
    table: Table, keys: tuple[str, ...], returning: tuple[str, ...]
) -> TextClause | TextualSelect:
    """Return `INSERT ... ON CONFLICT DO NOTHING [RETURNING ...]` for one row, as text.

    SQLAlchemy cannot cache the compiled form of the dialects' ON CONFLICT inserts, and
    compiling one costs more than the rest of a routing; the same SQL as a typed text
    clause is compiled once. PostgreSQL and SQLite share this syntax.
    """
    sql = (
        f"INSERT INTO {table.name} ({', '.join(keys)}) "
        f"VALUES ({', '.join(':' + key for key in keys)}) ON CONFLICT DO NOTHING"
    )
    if returning:
        sql += " RETURNING " + ", ".join(returning)
    stmt = text(sql).bindparams(*(bindparam(key, type_=table.c[key].type) for key in keys))
    return stmt.columns(*(table.c[name] for name in returning)) if returning else stmt


def _fit_key(key: str, limit: int = 200) -> str:
    """Return KEY, or a prefix of it plus its hash when it is longer than the column."""
    if len(key) <= limit:
        return key
    return key[: limit - 41] + ":" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def message_row(
    *,
    channel: str,
    recipient: str,
    template: str,
    payload: dict[str, Any],
    key: str,
    ticket_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return the column values of one outbox row (for `queue_messages`)."""
    if channel not in ("sms", "email"):
        raise ValueError(f"unknown channel {channel!r}")
    now = now or utcnow()
    return {
        "channel": channel,
        "recipient": recipient,
        "template": template,
        "payload": payload,
        "idempotency_key": _fit_key(key),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "ticket_id": ticket_id,
        "created_at": now,
    }


def queue_messages(rows: Sequence[dict[str, Any]], *, send_now: bool = True) -> list[int]:
    """Write outbox ROWS in the current transaction; return the ids of the new ones.

    Args:
        rows: rows made by `message_row`; a row whose key exists already is skipped.
        send_now: enqueue one send job per new row after the commit. Bulk writers (the
            sweep, the digest) pass False and enqueue one `flush_outbox` instead.

    Returns:
        The ids of the rows written (not those skipped as duplicates).
    """
    # No autoflush: the caller's pending ticket changes are written once, at its commit
    # (every flush of a ticket bumps its version).
    with db.session.no_autoflush:
        inserted = insert_ignoring_conflicts(
            OutboxMessage.__table__, rows, returning=[OutboxMessage.__table__.c.id]
        )
    ids = [r.id for r in inserted]
    if send_now:
        for message_id in ids:
            enqueue_after_commit(
                db.session,
                "send_outbox_message",
                message_id,
                queue=SEND_QUEUE,
                job_id=f"outbox-{message_id}",
                retry=0,  # the outbox has its own back-off
            )
    elif ids:
        enqueue_after_commit(db.session, "flush_outbox", queue=SEND_QUEUE, job_id="flush-outbox")
    return ids


def queue_message(
    *,
    channel: str,
    recipient: str,
    template: str,
    payload: dict[str, Any],
    key: str,
    ticket_id: int | None = None,
    now: datetime | None = None,
    send_now: bool = True,
) -> int | None:
    """Write one outbox row in the current transaction (no commit).

    Returns:
        The new row's id, or None when a row with KEY exists already.
    """
    row = message_row(
        channel=channel,
        recipient=recipient,
        template=template,
        payload=payload,
        key=key,
        ticket_id=ticket_id,
        now=now,
    )
    ids = queue_messages([row], send_now=send_now)
    return ids[0] if ids else None


def citizen_address(ticket: Ticket) -> tuple[str, str] | None:
    """Return (channel, recipient) to reach the ticket's citizen: SMS first, then email."""
    if ticket.phone:
        return "sms", ticket.phone
    if ticket.email:
        return "email", ticket.email
    return None


def notify_citizen(
    ticket: Ticket,
    template: str,
    payload: dict[str, Any],
    key: str,
    now: datetime | None = None,
) -> int | None:
    """Queue a message to the ticket's citizen, if they left a phone or an email.

    Args:
        ticket: the ticket (flushed or not).
        template: an SMS template name (`hotline/templates/sms/<name>.txt`); by email the
            same text is wrapped in the citizen email layout.
        payload: template values; `code` and `locale` are added.
        key: the idempotency key.
        now: the creation instant.

    Returns:
        The outbox row's id, or None (no contact, or already queued).
    """
    address = citizen_address(ticket)
    if address is None:
        return None
    channel, recipient = address
    if ticket.id is None:
        db.session.flush()  # a new ticket: the row needs its id
    return queue_message(
        channel=channel,
        recipient=recipient,
        template=template,
        payload={"code": ticket.code, "locale": ticket.locale or "vi", **payload},
        key=key,
        ticket_id=ticket.id,
        now=now,
    )
