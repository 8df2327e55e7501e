"""Tests of /healthz."""

from __future__ import annotations

from hotline import create_app


def test_healthz_ok(client):
    """Test that /healthz answers 200 when the database and Redis answer."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_503_when_redis_is_down(app):
    """Test that /healthz answers 503 and names Redis when Redis cannot be reached."""
    down = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
    )
    with down.app_context():
        response = down.test_client().get("/healthz")
        from hotline.extensions import db

        db.session.remove()
        db.engine.dispose()
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("error")
