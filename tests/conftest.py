"""Shared fixtures: the app on a real database (PostgreSQL or SQLite) and a real Redis."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

_TMP = Path(tempfile.mkdtemp(prefix="hotline-tests-"))
os.environ.setdefault("TEST_DATABASE_URL", f"sqlite:///{_TMP / 'test.sqlite3'}")
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("UPLOAD_DIR", str(_TMP / "uploads"))

from hotline import create_app  # noqa: E402
from hotline.extensions import db  # noqa: E402

REFERENCE_TABLES = {
    "agencies",
    "communes",
    "categories",
    "routing_keywords",
    "area_agencies",
    "sla_policies",
    "calendar_days",
}


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in URL if it does not exist yet."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def pytest_unconfigure(config):
    """Remove the run's temporary folder (SQLite file, uploads)."""
    shutil.rmtree(_TMP, ignore_errors=True)


def pytest_configure(config):
    """Make sure the test database exists before any test connects."""
    ensure_postgres_database(os.environ["TEST_DATABASE_URL"])


@pytest.fixture(scope="session")
def app():
    """The app on the test database, with tables created and the province loaded once."""
    from hotline.province import province_folder
    from hotline.province.loader import load_province

    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": os.environ["TEST_DATABASE_URL"],
            "REDIS_URL": os.environ["TEST_REDIS_URL"],
            "UPLOAD_DIR": os.environ["UPLOAD_DIR"],
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_province(province_folder())
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _clear_tables(keep_reference: bool) -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if keep_reference:
        tables = [t for t in tables if t.name not in REFERENCE_TABLES]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _app_context(request, app, redis_conn):
    """Every test runs inside an app context, and leaves clean tables behind it."""
    with app.app_context():
        yield
        db.session.rollback()
        mutates = request.node.get_closest_marker("mutates_reference") is not None
        _clear_tables(keep_reference=not mutates)
        if mutates:
            from hotline.cache import invalidate_caches
            from hotline.province import province_folder
            from hotline.province.loader import load_province

            load_province(province_folder())
            invalidate_caches()
        db.session.remove()


@pytest.fixture
def redis_conn(app):
    """The test Redis database, flushed before and after each test."""
    conn = app.extensions["hotline_redis"]
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of the app."""
    return app.test_cli_runner()
