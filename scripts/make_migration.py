"""Regenerate the single initial migration from the models (pre-release only).

Runs `flask db migrate` against an empty SQLite database, so the migration holds the
whole schema; portable to PostgreSQL thanks to the naming convention and batch mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"


def main() -> int:
    """Delete the old initial migration and write a new one named 0001_initial."""
    for old in VERSIONS.glob("*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ, DATABASE_URL=f"sqlite:///{tmp}/empty.sqlite3", HOTLINE_ENV="development"
        )
        flask = str(Path(sys.executable).parent / "flask")
        subprocess.run(
            [flask, "--app", "wsgi", "db", "migrate", "--rev-id", "0001", "-m", "initial schema"],
            cwd=ROOT,
            env=env,
            check=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
