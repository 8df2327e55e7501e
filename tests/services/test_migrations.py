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


def _fresh_database_url(kind: str, tmp_path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}", lambda: None
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL to a postgresql URL)")
    name = f"hotline_migr_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
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
