"""Schemathesis over the JSON API and Open311 at length (run by hand: no 5xx in >= 1,000 cases).

The same runner as the suite's bounded test (`tests/fuzz/schema_fuzz.py`), with random
seeds and FUZZ_MAX_EXAMPLES cases per operation and generation mode (default 40: 16
operations x 2 modes x 40 = 1,280 cases). Prints the cases per operation, the statuses,
every failure, and a last line `RESULT cases=N server_errors=N failures=N`; exits 1 on any.
Environment: FUZZ_DATABASE_URL (a dedicated database, emptied!), FUZZ_REDIS_URL.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sla_sweep import _ensure_database  # noqa: E402
from hotline import create_app  # noqa: E402
from hotline.extensions import db  # noqa: E402
from hotline.models import ApiKey  # noqa: E402
from tests.fuzz.schema_fuzz import FuzzContext, fuzz_app, seed_records  # noqa: E402

DB_URL = os.environ.get(
    "FUZZ_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/hotline_bench_fuzz"
)
REDIS_URL = os.environ.get("FUZZ_REDIS_URL", "redis://127.0.0.1:6379/12")
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "40"))


def main() -> int:
    """Run the fuzzer on a fresh database; return the exit status."""
    from hotline.province import province_folder
    from hotline.province.loader import load_province

    if DB_URL.startswith("postgresql"):
        _ensure_database(DB_URL)
    app = create_app(
        {
            "ENV_NAME": "test",  # the test settings: Twilio and gateway secrets, no rate limits
            "SQLALCHEMY_DATABASE_URI": DB_URL,
            "REDIS_URL": REDIS_URL,
            "UPLOAD_DIR": tempfile.mkdtemp(prefix="hotline-fuzz-"),
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_province(province_folder())
        row, raw = ApiKey.generate("fuzz")
        db.session.add(row)
        db.session.commit()
        known = seed_records(app.test_client(), raw)
        started = time.perf_counter()
        report = fuzz_app(
            app, FuzzContext(raw, known), max_examples=MAX_EXAMPLES, derandomize=False
        )
        elapsed = time.perf_counter() - started
        # The routing jobs of the tickets made: nobody will run them.
        from hotline.jobs import get_queue

        for name in app.config["RQ_QUEUES"]:
            get_queue(name).empty()
    for label, count in sorted(report.cases.items()):
        print(f"{count:6d}  {label}")
    print("statuses:", dict(sorted(report.statuses.items())))
    for failure in report.failures:
        print("FAILURE", failure, sep="\n", end="\n\n")
    operations = {label.rsplit(" [", 1)[0] for label in report.cases}
    server_errors = sum(n for status, n in report.statuses.items() if status >= 500)
    print(
        f"RESULT cases={report.total} operations={len(operations)} "
        f"server_errors={server_errors} failures={len(report.failures)} seconds={elapsed:.0f}"
    )
    return 1 if server_errors or report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
