"""The WSGI entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_is_frozen_out_of_the_collectors_full_passes(tmp_path):
    """Importing `wsgi` (what each gunicorn worker does) builds the app and then freezes the
    objects it made: a full collection then walks only what requests left behind."""
    script = (
        "import gc, wsgi\n"
        "assert wsgi.app.name == 'hotline'\n"
        "print(gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "HOTLINE_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.db'}",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    frozen, tracked = (int(n) for n in done.stdout.split())
    assert frozen > 50_000  # the app's models, catalogs and phone metadata
    assert tracked < frozen // 10
