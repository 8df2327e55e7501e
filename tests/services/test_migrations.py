"""Tests that the migrations build the whole schema from empty, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

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


@pytest.mark.parametrize("kind", ["sqlite", POSTGRESQL])
def test_search_text_migration_round_trip_keeps_every_ticket_searchable(kind, tmp_path):
    """Test 0002 on a database holding tickets: upgraded, a new ticket is stored without
    search text (the trigram indexes leave it out on PostgreSQL); downgraded, it gets the
    text its first update would have written, and the column is required again."""
    from flask_migrate import downgrade

    from hotline.tickets.services import create_ticket

    url, drop = _fresh_database_url(kind, tmp_path)
    try:
        app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            new = create_ticket(
                channel="web", description="Cột điện đổ ở phường Tân Lập", route=False
            )
            assert (
                db.session.execute(
                    text("SELECT search_text FROM tickets WHERE id = :id"), {"id": new.id}
                ).scalar_one()
                is None
            )
            if kind == "postgresql":
                definitions = dict(
                    db.session.execute(
                        text(
                            "SELECT indexname, indexdef FROM pg_indexes "
                            "WHERE indexname LIKE 'ix_tickets_search%'"
                        )
                    ).all()
                )
                assert all("search_text IS NOT NULL" in d for d in definitions.values())
                assert len(definitions) == 2
            db.session.commit()
            db.session.remove()
            downgrade(revision="0001")
            with db.engine.connect() as conn:
                written = conn.execute(
                    text("SELECT search_text FROM tickets WHERE id = :id"), {"id": new.id}
                ).scalar_one()
                columns = {c["name"]: c for c in inspect(conn).get_columns("tickets")}
            assert f" {new.code} " in written and "cot dien do o phuong tan lap" in written
            assert columns["search_text"]["nullable"] is False
            upgrade()
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
