"""Shared fixtures: the app on a real database (PostgreSQL or SQLite) and a real Redis.

Parallel runs
-------------
`make test` runs the suite on two pytest-xdist workers (`-n 2`, see its recipe). Each worker
("gw0", "gw1"...) is a process of its own with its own resources, so two workers never share a
row, a Redis key or a port:

- the database: TEST_DATABASE_URL's database with the worker id appended (`hotline_test` ->
  `hotline_test_gw0`), created if missing; on SQLite a file in the worker's own temporary
  folder (or, when TEST_DATABASE_URL names a file, that file's name with the worker id);
- the Redis db: TEST_REDIS_URL's db number plus the worker's index (gw0: +0, gw1: +1...);
- ports: every server a test starts (live servers for the browser, SMTP servers, fake
  gateways, Redis Sentinel sets) listens on a free port the system hands out, and the test
  config's SMTP_PORT is 1, where nothing listens (never `make run`'s mail sink on 8025).

A run without xdist (`-n 0`) uses the database and the Redis db as given.

Redis has 16 dbs; each run of the suite takes a block of three (so at most three workers),
starting at TEST_REDIS_URL's db, and the blocks must not overlap on one machine:

    db 0        `make run` (development)
    dbs 1-3     .ci/run, the PostgreSQL run (TEST_REDIS_URL .../1)
    dbs 4-6     .ci/run, the SQLite run (TEST_REDIS_URL .../4)
    db 7        bench/backup_restore.sh
    dbs 10-12   the benchmarks and bench/fuzz_api.py
    dbs 13-15   a developer's `make test` (the default, TEST_REDIS_URL unset)

Skips
-----
A skipped test hides a test that did not run, so on CI (CI=true) a skip fails the test. What
a run leaves out on purpose is deselected by marker instead: `postgres` tests on SQLite (done
here, and counted in the summary), `browser` tests with `-m 'not browser'`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REDIS_DBS = 16
WORKERS_PER_RUN = 3  # the width of a run's block of Redis dbs (see the module docstring)
DEVELOPER_REDIS_URL = "redis://127.0.0.1:6379/13"

WORKER_ID = os.environ.get("PYTEST_XDIST_WORKER", "")  # set by xdist in its workers
WORKER_INDEX = int(WORKER_ID.removeprefix("gw")) if WORKER_ID.startswith("gw") else 0


def worker_database_url(url: str, worker_id: str) -> str:
    """Return URL with its database (or SQLite file) suffixed with WORKER_ID ("" keeps it)."""
    if not worker_id:
        return url
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if not parsed.database or parsed.database == ":memory:":
            return url  # an in-memory database is the process's own already
        path = Path(parsed.database)
        database = str(path.with_name(f"{path.stem}_{worker_id}{path.suffix}"))
    else:
        database = f"{parsed.database}_{worker_id}"
    return parsed.set(database=database).render_as_string(hide_password=False)


def worker_redis_url(url: str, worker_index: int) -> str:
    """Return URL pointing at its db number plus WORKER_INDEX."""
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + worker_index
    return urlunsplit(parts._replace(path=f"/{number}"))


def check_redis_block(url: str, workers: int) -> None:
    """Refuse a run whose WORKERS would leave its block of Redis dbs (or Redis's 16 dbs)."""
    base = int(urlsplit(url).path.strip("/") or 0)
    if workers > WORKERS_PER_RUN:
        raise pytest.UsageError(
            f"at most {WORKERS_PER_RUN} xdist workers: each run of the suite has a block of "
            f"{WORKERS_PER_RUN} Redis dbs (see tests/conftest.py); use -n {WORKERS_PER_RUN}"
        )
    if base + max(workers, 1) > REDIS_DBS:
        raise pytest.UsageError(
            f"TEST_REDIS_URL's db {base} with {workers} workers goes past Redis's last db "
            f"({REDIS_DBS - 1}): choose a base of {REDIS_DBS - max(workers, 1)} or less"
        )


def given(name: str) -> str:
    """Return the environment variable NAME as the run was started with it ("" if unset).

    The first process (xdist's controller, or the only one) notes the value before it
    rewrites the variable for itself; its workers inherit the note, so each derives its
    own value from what the person or CI gave, not from the controller's.
    """
    note = f"HOTLINE_TESTS_GIVEN_{name}"
    if note not in os.environ:
        os.environ[note] = os.environ.get(name, "")
    return os.environ[note]


# Each process (the controller, every worker) has its own temporary folder; the variables
# are rewritten for this process before the app's settings read them, so the apps and the
# subprocesses that tests start all follow them. Uploads always go to the temporary folder.
_TMP = Path(tempfile.mkdtemp(prefix=f"hotline-tests-{WORKER_ID or 'main'}-"))
os.environ["TEST_DATABASE_URL"] = worker_database_url(
    given("TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.sqlite3'}", WORKER_ID
)
os.environ["TEST_REDIS_URL"] = worker_redis_url(
    given("TEST_REDIS_URL") or DEVELOPER_REDIS_URL, WORKER_INDEX
)
os.environ["UPLOAD_DIR"] = str(_TMP / "uploads")

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


# Where the app fixture keeps the reference rows as first loaded (app.extensions).
REFERENCE_SNAPSHOT = "hotline_tests_reference_rows"


def is_ci() -> bool:
    """Tell whether this run is CI's (CI=true, as .ci/run is started)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def on_postgresql() -> bool:
    """Tell whether the suite runs on PostgreSQL."""
    return make_url(os.environ["TEST_DATABASE_URL"]).drivername.startswith("postgresql")


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


def pytest_configure(config):
    """Check, before any worker starts, that the run fits in its block of Redis dbs."""
    if not WORKER_ID:
        workers = getattr(config.option, "numprocesses", None) or 0
        check_redis_block(os.environ["TEST_REDIS_URL"], int(workers))


def pytest_unconfigure(config):
    """Remove the process's temporary folder (SQLite file, uploads)."""
    shutil.rmtree(_TMP, ignore_errors=True)


POSTGRES_ONLY = pytest.StashKey[set]()


def pytest_collection_modifyitems(config, items):
    """Leave the PostgreSQL-only tests out of a SQLite run: deselected, not skipped."""
    if on_postgresql():
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("postgres") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        ids = {item.nodeid for item in dropped}
        config.stash.setdefault(POSTGRES_ONLY, set()).update(ids)
        if hasattr(config, "workeroutput"):  # an xdist worker: tell the controller
            config.workeroutput["hotline_postgres_only"] = sorted(ids)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """Gather (on xdist's controller) the PostgreSQL-only tests the workers left out."""
    ids = getattr(node, "workeroutput", {}).get("hotline_postgres_only", [])
    node.config.stash.setdefault(POSTGRES_ONLY, set()).update(ids)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say which tests a SQLite run left out on purpose (xdist's summary does not count them)."""
    ids = config.stash.get(POSTGRES_ONLY, set())
    if ids:
        terminalreporter.write_sep("-", f"{len(ids)} PostgreSQL-only tests deselected (SQLite)")
        for nodeid in sorted(ids):
            terminalreporter.write_line(nodeid)


def fail_skip_on_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Turn REPORT of a skipped test into a failure when the run is CI's (not an xfail)."""
    if not (report.skipped and is_ci()) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = (
        f"skipped on CI, which runs every test it selects: {reason}\n"
        "(make the test run, or deselect it by marker if leaving it out is deliberate)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On CI, a skipped test fails: a skip there means a test did not run unnoticed.

    Deliberate omissions are deselections (the `postgres` marker on SQLite, `-m`), which
    never reach this hook.
    """
    outcome = yield
    fail_skip_on_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """On CI, a module that skips itself (`allow_module_level`, `importorskip`) fails too."""
    outcome = yield
    fail_skip_on_ci(outcome.get_result())


@pytest.fixture(scope="session")
def app():
    """The app on this worker's database, with tables created and the province loaded once."""
    from hotline.province import province_folder
    from hotline.province.loader import load_province

    ensure_postgres_database(os.environ["TEST_DATABASE_URL"])
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
        app.extensions[REFERENCE_SNAPSHOT] = _reference_rows()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _clear_tables(keep_reference: bool) -> None:
    """Empty the tables a test may have filled (the reference data too when it changed).

    DELETE, not TRUNCATE: the tables hold a test's few rows, and PostgreSQL's TRUNCATE
    makes new files for every table and index (most of a test's time on PostgreSQL). The
    id sequences start again at 1, as after a fresh load, even where an insert was rolled
    back.
    """
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if keep_reference:
        tables = [t for t in tables if t.name not in REFERENCE_TABLES]
    for table in tables:
        db.session.execute(table.delete())
    if db.engine.dialect.name == "postgresql":
        restarts = [
            f"setval(pg_get_serial_sequence('{t.name}', '{column.name}'), 1, false)"
            for t in tables
            for column in t.primary_key.columns
            if column.autoincrement in (True, "auto") and len(t.primary_key.columns) == 1
        ]
        if restarts:
            db.session.execute(text(f"SELECT {', '.join(restarts)}"))
    db.session.commit()


def _reference_rows() -> dict[str, list[dict]]:
    """Return every row of the reference tables, as loaded from the province's files."""
    return {
        table.name: [dict(row._mapping) for row in db.session.execute(table.select())]
        for table in db.metadata.sorted_tables
        if table.name in REFERENCE_TABLES
    }


def _restore_reference(rows: dict[str, list[dict]]) -> None:
    """Put the reference rows back as they were loaded (ids included), in one go.

    Much quicker than loading the province again (an upsert row by row); on PostgreSQL
    the id sequences then continue after the restored ids.
    """
    for table in db.metadata.sorted_tables:
        if rows.get(table.name):
            db.session.execute(table.insert(), rows[table.name])
            if db.engine.dialect.name == "postgresql":
                db.session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f'(SELECT max(id) FROM "{table.name}"))'
                    )
                )
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

            _restore_reference(app.extensions[REFERENCE_SNAPSHOT])
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
