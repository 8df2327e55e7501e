"""The rows of a new ticket (ticket, first event, delivery), written by one statement.

On PostgreSQL the three rows are one INSERT ... WITH statement, built from the tables once
per process and run as driver SQL; elsewhere three Core INSERTs. `write_new_rows` writes
in the session's transaction, `write_new_rows_alone` in autocommit on a pool of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import (
    Column,
    ColumnElement,
    Insert,
    Table,
    bindparam,
    create_engine,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError

from hotline.extensions import db
from hotline.models import InboundMessage, Ticket, TicketEvent

# The statements of `_new_rows_statement`, by shape: (the ticket's keys, with a delivery),
# and compiled (`_rows_sql`), by shape and dialect.
_STATEMENTS: dict[tuple[tuple[str, ...], bool], Insert] = {}
_COMPILED: dict[tuple[tuple[str, ...], bool, str, str], _RowsSql] = {}
_ENGINE_LOCK = threading.Lock()


def _default_sql(column: Column) -> ColumnElement:
    """Return COLUMN's Python-side default as an SQL literal (for an INSERT inside a WITH)."""
    default = column.default
    if default is None or not default.is_scalar:
        raise ValueError(f"tickets.{column.key} has no constant default: give it a value")
    value = literal(default.arg, column.type).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return literal_column(str(value), column.type)


def _new_rows_statement(ticket_keys: tuple[str, ...], with_delivery: bool) -> Insert:
    """Return the PostgreSQL statement writing a ticket, its first event and its delivery.

    The ticket is INSERTed in a data-modifying WITH and the other rows take its id, so the
    three rows cost one round trip. SQLAlchemy fills in no Python-side default inside a
    WITH, so the ticket's columns not in TICKET_KEYS get theirs written into the SQL (or
    stay NULL). The statement is built once per process and shape, with a bound parameter
    per value ("t_code", "e_kind", "d_provider_id"...): building it on each call cost more
    than the statement saved. Under 50 parameters, psycopg caches its conversion too.
    """
    shape = (ticket_keys, with_delivery)
    statement = _STATEMENTS.get(shape)
    if statement is not None:
        return statement
    tickets, events, deliveries = Ticket.__table__, TicketEvent.__table__, InboundMessage.__table__
    ticket_values: dict[str, Any] = {}
    for column in tickets.columns:
        if column.key in ticket_keys:
            ticket_values[column.key] = bindparam(f"t_{column.key}", type_=column.type)
        elif column.default is not None:
            ticket_values[column.key] = _default_sql(column)
    new_ticket = insert(tickets).values(ticket_values).returning(tickets.c.id).cte("new_ticket")
    new_id = select(new_ticket.c.id).scalar_subquery()

    def values(table: Table, prefix: str) -> dict[str, Any]:
        return {
            c.key: new_id if c.key == "ticket_id" else bindparam(f"{prefix}_{c.key}", type_=c.type)
            for c in table.columns
            if not c.primary_key
        }

    statement = insert(events).values(values(events, "e"))
    last = events
    if with_delivery:
        statement = (
            insert(deliveries).values(values(deliveries, "d")).add_cte(statement.cte("new_event"))
        )
        last = deliveries
    statement = statement.add_cte(new_ticket).returning(last.c.ticket_id)
    _STATEMENTS[shape] = statement
    return statement


def write_new_rows(
    ticket: dict[str, Any], event: dict[str, Any], delivery: dict[str, Any] | None
) -> int:
    """INSERT a new ticket, its first event and its delivery (if any); return the ticket id.

    Args:
        ticket: the ticket's columns (see `new_ticket_row`); the others take their defaults.
        event: every column of its "created" event but its id and ticket_id.
        delivery: every column of its inbound delivery but its id and ticket_id, or None.
    """
    tickets, events, deliveries = Ticket.__table__, TicketEvent.__table__, InboundMessage.__table__
    if db.session.get_bind().dialect.name != "postgresql":
        ticket_id = db.session.execute(insert(tickets), ticket).inserted_primary_key[0]
        db.session.execute(insert(events), {**event, "ticket_id": ticket_id})
        if delivery is not None:
            db.session.execute(insert(deliveries), {**delivery, "ticket_id": ticket_id})
        return ticket_id
    return _execute_new_rows(db.session.connection(), ticket, event, delivery)


@dataclass(frozen=True)
class _RowsSql:
    """`_new_rows_statement` compiled once: its SQL, and each parameter's bind processor.

    Executed as driver SQL: SQLAlchemy then neither hashes the statement's structure nor
    looks it up in its cache on every call, which cost more than the INSERTs themselves.
    The values go through the same bind processors SQLAlchemy would apply (aware
    datetimes to UTC, JSON).
    """

    sql: str
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]

    def execute(self, connection: Connection, params: dict[str, Any]) -> int:
        """Run the statement with PARAMS (processed in place); return the ticket id."""
        for name, process in self.processors:
            params[name] = process(params[name])
        return connection.exec_driver_sql(self.sql, params).scalar_one()


def _rows_sql(ticket_keys: tuple[str, ...], with_delivery: bool, dialect: Dialect) -> _RowsSql:
    shape = (ticket_keys, with_delivery, dialect.name, dialect.driver)
    compiled_rows = _COMPILED.get(shape)
    if compiled_rows is None:
        compiled = _new_rows_statement(ticket_keys, with_delivery).compile(dialect=dialect)
        processors = []
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((name, process))
        compiled_rows = _COMPILED[shape] = _RowsSql(str(compiled), tuple(processors))
    return compiled_rows


def _execute_new_rows(
    connection: Connection,
    ticket: dict[str, Any],
    event: dict[str, Any],
    delivery: dict[str, Any] | None,
) -> int:
    """Write the rows by `_new_rows_statement` on CONNECTION (PostgreSQL); return the id."""
    params = {f"t_{key}": value for key, value in ticket.items()}
    params.update((f"e_{key}", value) for key, value in event.items())
    if delivery is not None:
        params.update((f"d_{key}", value) for key, value in delivery.items())
    rows_sql = _rows_sql(tuple(ticket), delivery is not None, connection.dialect)
    return rows_sql.execute(connection, params)


def _intake_engine() -> Engine:
    """Return the engine of `write_new_rows_alone`: autocommit, no ping at each checkout.

    Its own pool, so that its connections stay in autocommit (no switching on every
    checkout) and skip the pool's pre-ping round trip: a connection that died meanwhile
    makes the statement fail with `connection_invalidated`, and it is run once more on a
    new connection (see `write_new_rows_alone`).
    """
    engine = current_app.extensions.get("hotline_intake_engine")
    if engine is None:
        with _ENGINE_LOCK:
            engine = current_app.extensions.get("hotline_intake_engine")
            if engine is None:
                options = dict(current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
                options.update(isolation_level="AUTOCOMMIT", pool_pre_ping=False)
                engine = create_engine(db.engine.url, **options)
                current_app.extensions["hotline_intake_engine"] = engine
    return engine


def dispose_intake_engine(app: Flask) -> None:
    """Close the connections of APP's intake engine, if it made one (tests, shutdown)."""
    engine = app.extensions.pop("hotline_intake_engine", None)
    if engine is not None:
        engine.dispose()


def write_new_rows_alone(
    ticket: dict[str, Any], event: dict[str, Any], delivery: dict[str, Any] | None
) -> int:
    """Write the rows as `write_new_rows` does, in one statement outside any transaction
    (autocommit, on the intake's own pool); return the ticket id. PostgreSQL only.

    The statement is atomic on its own. A pooled connection that died meanwhile (database
    restarted, idle connection cut) fails it with `connection_invalidated`: it is run once
    more on a new connection. Callers pass a delivery, so that a first statement committed
    just before its connection broke makes the second one a replay, refused by the
    delivery's unique key, never a second ticket.
    """
    for attempt in range(2):
        try:
            with _intake_engine().connect() as connection:
                return _execute_new_rows(connection, ticket, event, delivery)
        except DBAPIError as exc:
            if attempt or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises
