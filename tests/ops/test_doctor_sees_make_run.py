"""`flask --app wsgi hotline doctor` typed in another shell checks the system `make run` runs.

The launcher leaves its secret key and its embedded Redis's address in instance/; the doctor,
built from the development settings without SECRET_KEY or REDIS_URL, must find both.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from hotline import create_app
from hotline.doctor import run_checks
from hotline.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def development_settings(checkout: Path, monkeypatch) -> type:
    """The DevelopmentConfig of a copy of config/ in CHECKOUT, read with nothing set."""
    for name in ("SECRET_KEY", "REDIS_URL", "SMTP_HOST", "SMTP_PORT", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    spec = importlib.util.spec_from_file_location(
        f"settings_copy_{len(os.listdir(checkout / 'instance'))}",
        checkout / "config" / "settings.py",
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class Settings(module.DevelopmentConfig):  # type: ignore[name-defined]
        JSON_LOGS = False  # the suite's logging stays as it is
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{checkout / 'doctor.sqlite3'}"

    return Settings


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns("*.csv"))
    (tmp_path / "instance").mkdir()
    return tmp_path


def findings(settings: type) -> dict[str, list[str]]:
    app = create_app(settings)
    with app.app_context():
        try:
            found = run_checks(app, network=False)
        finally:
            db.session.remove()
            db.engine.dispose()
            app.extensions["hotline_redis"].close()
    out: dict[str, list[str]] = {}
    for f in found:
        out.setdefault(f.check, []).append(f"{'ok' if f.ok else 'PROBLEM'}: {f.message}")
    return out


def test_doctor_uses_the_launchers_secret_key_and_embedded_redis(checkout, monkeypatch):
    """Test that the doctor's settings come from instance/ when the environment is silent."""
    without = findings(development_settings(checkout, monkeypatch))
    assert any("SECRET_KEY is the development value" in m for m in without["config"])

    (checkout / "instance" / "secret_key").write_text("a1" * 32 + "\n")
    # The launcher's embedded Redis: here the suite's Redis stands in for it.
    (checkout / "instance" / "redis_url").write_text(os.environ["TEST_REDIS_URL"] + "\n")
    settings = development_settings(checkout, monkeypatch)
    assert settings.SECRET_KEY == "a1" * 32
    found = findings(settings)
    assert not any("SECRET_KEY" in m for m in found["config"])
    assert found["redis"] == ["ok: Redis answers"]

    (checkout / "instance" / "redis_url").write_text("unix:///nonexistent/redis.sock?db=0\n")
    stopped = findings(development_settings(checkout, monkeypatch))
    assert stopped["redis"][0].startswith("PROBLEM: cannot reach Redis")
