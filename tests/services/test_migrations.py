"""Tests that the migrations build the whole schema from empty, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, insert, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from hotline import create_app
from hotline.extensions import db

# The PostgreSQL case is left out of a SQLite run by its marker (tests/conftest.py).
POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.postgres)


def _fresh_database_url(kind: str, tmp_path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}", lambda: None
    base = os.environ["TEST_DATABASE_URL"]  # PostgreSQL: the postgres marker says so
    name = f"hotline_migr_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


@pytest.mark.parametrize("kind", ["sqlite", POSTGRESQL])
def test_upgrade_from_empty_matches_the_models(kind, tmp_path):
    """Test that `flask db upgrade` on an empty database gives exactly the models' schema."""
    url, drop = _fresh_database_url(kind, tmp_path)
    try:
        app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            tables = set(inspect(db.engine).get_table_names())
            assert {"tickets", "ticket_events", "inbound_messages", "outbox_messages"} <= tables
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()


def _trigram_index_definitions() -> dict[str, str]:
    return dict(
        db.session.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE indexname LIKE 'ix_tickets_search%'"
            )
        ).all()
    )


@pytest.mark.parametrize("kind", ["sqlite", POSTGRESQL])
def test_search_text_migration_gives_every_stored_ticket_its_text(kind, tmp_path):
    """Test 0003 on a database holding a ticket stored without search text under 0002:
    upgraded, the ticket has the text its words are found by, the column is required and
    the trigram indexes cover every row; downgraded, 0002's schema is back."""
    from flask_migrate import downgrade

    url, drop = _fresh_database_url(kind, tmp_path)
    try:
        app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(revision="0002")
            db.session.execute(
                text(
                    "INSERT INTO tickets (code, channel, status, priority, address, description,"
                    " citizen_name, contact_consent, locale, sla_cycle, public_answer,"
                    " answer_published, rating_comment, version, created_at, updated_at)"
                    " VALUES ('2612000017', 'sms', 'received', 'normal', '',"
                    " 'Cột điện đổ ở phường Tân Lập', '', false, 'vi', 0, '', false, '', 1,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            db.session.commit()
            upgrade()
            written = db.session.execute(text("SELECT search_text FROM tickets")).scalar_one()
            assert " 2612000017 " in written and "cot dien do o phuong tan lap" in written
            columns = {c["name"]: c for c in inspect(db.engine).get_columns("tickets")}
            assert columns["search_text"]["nullable"] is False
            if kind == "postgresql":
                definitions = _trigram_index_definitions()
                assert len(definitions) == 2
                assert not any("IS NOT NULL" in d for d in definitions.values())
            db.session.remove()
            downgrade(revision="0002")
            columns = {c["name"]: c for c in inspect(db.engine).get_columns("tickets")}
            assert columns["search_text"]["nullable"] is True
            if kind == "postgresql":
                definitions = _trigram_index_definitions()
                assert all("search_text IS NOT NULL" in d for d in definitions.values())
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()


# A valid row per table (Core inserts: the columns' defaults fill the rest), and the values
# the CHECK constraints of 0004 (and of the models) refuse.
_VALID_ROWS = {
    "tickets": {
        "code": "2612000001",
        "channel": "web",
        "status": "received",
        "description": "x",
        "search_text": " 2612000001 x ",
    },
    "users": {"email": "kt@example.org", "name": "Kiểm tra", "password_hash": "x", "role": "agent"},
}
_REFUSED = [("tickets", "status", "open"), ("tickets", "channel", "fax"), ("users", "role", "root")]


def _insert(table: str, **values) -> None:
    """Insert one row into TABLE by Core, in its own transaction."""
    with db.engine.begin() as conn:
        conn.execute(insert(db.metadata.tables[table]).values({**_VALID_ROWS[table], **values}))


def _delete_all(table: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(delete(db.metadata.tables[table]))


@pytest.mark.parametrize("kind", ["sqlite", POSTGRESQL])
def test_migrated_database_refuses_unknown_status_channel_and_role(kind, tmp_path):
    """Test 0004: a Core insert of an unknown ticket status or channel or user role is refused
    with IntegrityError; a valid row goes in; downgraded to 0003, the same row is accepted."""
    from flask_migrate import downgrade

    url, drop = _fresh_database_url(kind, tmp_path)
    try:
        app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            for table, column, value in _REFUSED:
                with pytest.raises(IntegrityError):
                    _insert(table, **{column: value})
                _insert(table)  # the same row with a known value goes in
                _delete_all(table)
            db.session.remove()
            downgrade(revision="0003")
            for table, column, value in _REFUSED:
                _insert(table, **{column: value})
                _delete_all(table)
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()


@pytest.mark.parametrize(("table", "column", "value"), _REFUSED)
def test_models_refuse_unknown_status_channel_and_role(table, column, value):
    """Test that the schema built from the models (this run's database) has the same CHECKs."""
    with pytest.raises(IntegrityError):
        _insert(table, **{column: value})
