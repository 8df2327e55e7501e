"""Intake: one module per channel (voice, SMS, gateway, web, API, Open311) and their helpers."""

from __future__ import annotations

from flask import Flask, request

from hotline.extensions import limiter

# The providers' webhooks: signed deliveries from a few provider addresses. A per-IP limit
# would throttle a whole carrier, and refusing a delivery would lose a report.
PROVIDER_BLUEPRINTS = frozenset({"twilio_voice", "twilio_sms", "sms_gateway", "delivery_receipts"})


@limiter.request_filter
def _provider_webhook() -> bool:
    """Exempt the providers' webhooks from rate limits (checked before any limit)."""
    return request.blueprint in PROVIDER_BLUEPRINTS


def register_intake(app: Flask) -> None:
    """Register the intake blueprints; machine-to-machine routes are exempt from CSRF.

    Twilio routes are signed (`twilio_auth`), the gateway by HMAC, the APIs by key;
    the public web forms keep CSRF. The providers' webhooks are not rate-limited.
    """
    from hotline.extensions import csrf
    from hotline.intake import api, gateway, open311, receipts, sms, voice, web
    from hotline.storage import init_storage

    init_storage(app)
    for blueprint in (voice.bp, sms.bp, gateway.bp, receipts.bp, api.bp, open311.bp):
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    app.register_blueprint(web.bp)
