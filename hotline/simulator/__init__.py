"""The phone and SMS simulator: try the IVR and the SMS line through the real Twilio webhooks.

`/simulator` exists only when SIMULATOR_ENABLED or DEMO_MODE is on (development, tests,
demos), and only admins may use it; `flask --app wsgi hotline simulate ...` does the same
from the command line.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import Blueprint, Flask, current_app

log = logging.getLogger(__name__)

bp = Blueprint("simulator", __name__, url_prefix="/simulator")


def simulator_enabled(app: Flask | None = None) -> bool:
    """Return whether the simulator is switched on (SIMULATOR_ENABLED or DEMO_MODE)."""
    config = (app or current_app).config
    return bool(config.get("SIMULATOR_ENABLED") or config.get("DEMO_MODE"))


def _derived_token(secret_key: str) -> str:
    return hmac.new(
        secret_key.encode(), b"hotline-simulator-twilio-auth-token", hashlib.sha256
    ).hexdigest()[:32]


def register_simulator(app: Flask) -> None:
    """Register the simulator's blueprint and template helper.

    Without a Twilio account there is no auth token, and every signed webhook would be
    refused; so when the simulator is on and TWILIO_AUTH_TOKEN is empty, a token derived
    from SECRET_KEY takes its place (the same in every process). Only this server knows
    it, so the webhooks stay closed to anyone else, as they were without a token.
    """
    from hotline.extensions import csrf
    from hotline.simulator import views  # noqa: F401  (the routes of `bp`)

    if simulator_enabled(app) and not app.config.get("TWILIO_AUTH_TOKEN"):
        app.config["TWILIO_AUTH_TOKEN"] = _derived_token(str(app.config["SECRET_KEY"]))
        app.config["SIMULATOR_DERIVED_TOKEN"] = True
        log.warning("TWILIO_AUTH_TOKEN is not set: the simulator signs with a derived token")
    csrf.exempt(bp)  # checked by the blueprint itself, once it is known to be on
    app.register_blueprint(bp)
    app.add_template_global(simulator_enabled, "simulator_enabled")
