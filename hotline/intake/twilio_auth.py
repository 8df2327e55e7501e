"""Twilio webhook signatures: every Twilio route is wrapped in `twilio_signed`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    compare,
    get_signature_algorithm,
)

log = logging.getLogger(__name__)


def signed_url() -> str:
    """Return the URL Twilio signed: PUBLIC_BASE_URL + path + the raw query string.

    Werkzeug's `request.url` decodes the query string ("%20" becomes " "), and a
    signature computed by Twilio over the encoded form would then fail; the raw bytes
    are what Twilio requested.
    """
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    query = request.query_string.decode("latin-1")
    return base + request.path + (f"?{query}" if query else "")


def signature_valid() -> bool:
    """Return whether the current request carries a valid Twilio signature."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    if not signature or not token:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = RequestValidator(token)
    # Form posts are signed over their parameters; anything else over no parameters.
    params = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
    url = signed_url()
    # `validate` tries the URL with and without its port, two signatures per request; the
    # URL as configured is one of the two, and the one Twilio signs (it requests that URL),
    # so it is tried alone first. Any other case, bad signatures included, goes to `validate`.
    try:
        if compare(validator.compute_signature(url, params, algorithm), signature):
            return True
    except ValueError:  # an algorithm this twilio does not know: `validate` says so
        pass
    return validator.validate(url, params, signature, algorithm=algorithm)


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403, nothing stored) a request whose X-Twilio-Signature does not verify.

    Only the development configuration may switch the check off
    (TWILIO_VALIDATE_SIGNATURES); `create_app` refuses that anywhere else.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_app.config.get("TWILIO_VALIDATE_SIGNATURES", True) and not signature_valid():
            # No caller number, no body: personal data stays out of the logs.
            log.warning(
                "refused a Twilio webhook with a bad or missing signature: %s %s",
                request.method,
                request.path,
            )
            abort(403)
        return view(*args, **kwargs)

    return wrapper
