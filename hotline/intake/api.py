"""The JSON API (`/api/v1`): open a ticket, read it back; keyed by `X-API-Key`.

Errors are `{"errors": {"field": ["message"]}}` with 400 (not JSON), 401 (no or bad key),
404 (unknown ticket), 409 (an Idempotency-Key reused with another body), 422 (invalid fields).
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, g, jsonify, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from hotline.extensions import db
from hotline.intake.api_schemas import (
    ErrorSchema,
    TicketCreateSchema,
    TicketSchema,
    ticket_document,
)
from hotline.intake.common import (
    commune_by_code,
    is_answered,
    public_url,
    status_label,
    ticket_by_code,
)
from hotline.models import ApiKey, Category, InboundMessage
from hotline.phones import normalize_phone
from hotline.tickets.errors import InvalidInput
from hotline.tickets.services import InboundRecord, Report, find_inbound
from hotline.tickets.services import create_ticket as store_report
from hotline.timeutil import utcnow

bp = Blueprint("api", __name__, url_prefix="/api/v1")
CHANNEL = "api"


def error(status: int, **errors: list[str] | str):
    """Return the JSON error answer."""
    body = {k: v if isinstance(v, list) else [v] for k, v in errors.items()}
    return jsonify(errors=body), status


def key_from_header(raw: str | None) -> ApiKey | None:
    """Return the active API key matching RAW, or None (keys are stored hashed)."""
    if not raw or len(raw) > 200:
        return None
    return db.session.execute(
        select(ApiKey).filter_by(key_hash=ApiKey.hash_key(raw.strip()), active=True)
    ).scalar_one_or_none()


def api_key_required(view):
    """Refuse (401) a request without a valid X-API-Key; keep the key on `g.api_key`."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = key_from_header(request.headers.get("X-API-Key"))
        if key is None:
            return error(401, api_key=["missing or invalid X-API-Key header"])
        g.api_key = key
        return view(*args, **kwargs)

    return wrapper


def _touch(key: ApiKey) -> None:
    # At most one write an hour: the timestamp is for spotting unused keys, not auditing.
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > timedelta(hours=1):
        key.last_used_at = now


def _document(ticket) -> dict:
    return ticket_document(ticket, status_label(ticket.status), is_answered(ticket))


def _body_hash(payload: dict[str, Any]) -> str:
    """The fingerprint of a request body, kept to tell a retry from a reused key."""
    # surrogatepass: a JSON "\ud800" escape is a lone surrogate, which strict UTF-8 refuses
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _report(data: dict[str, Any], commune_id: int | None) -> Report:
    """The report in a validated request body."""
    return Report(
        channel=CHANNEL,
        description=data["description"],
        category_code=data["category"],
        commune_id=commune_id,
        address=data["address"],
        latitude=data["latitude"],
        longitude=data["longitude"],
        citizen_name=data["citizen_name"],
        phone=normalize_phone(data["phone"]),
        email=data["email"],
        contact_consent=data["contact_consent"],
        locale=data["locale"],
    )


@bp.post("/tickets")
@api_key_required
def create_ticket():
    """Open a ticket (201), or return the one an earlier call with the same Idempotency-Key made."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return error(
            400, _schema=["the body must be a JSON object (Content-Type: application/json)"]
        )
    try:
        data = TicketCreateSchema().load(payload)
    except ValidationError as exc:
        return error(422, **exc.normalized_messages())
    if (
        data["category"]
        and not db.session.execute(
            select(Category.id).filter_by(code=data["category"], active=True)
        ).first()
    ):
        return error(422, category=["unknown category code"])
    commune = commune_by_code(data["commune"])
    if data["commune"] and commune is None:
        return error(422, commune=["unknown commune code"])

    key: ApiKey = g.api_key
    idem = (request.headers.get("Idempotency-Key") or "").strip()
    if len(idem) > 80:
        return error(400, idempotency_key=["at most 80 characters"])
    body_hash = _body_hash(payload)
    provider_id = f"{key.id}:{idem or uuid.uuid4().hex}"
    seen = find_inbound(CHANNEL, provider_id)
    if seen is not None and seen.ticket is not None:
        if (seen.data or {}).get("body_hash") != body_hash:
            return error(409, idempotency_key=["already used with a different body"])
        return jsonify(_document(seen.ticket)), 200

    _touch(key)
    inbound = InboundRecord(
        CHANNEL, provider_id, data={"api_key_id": key.id, "body_hash": body_hash}
    )
    try:
        new = store_report(_report(data, commune.id if commune else None), inbound=inbound)
    except InvalidInput as exc:
        db.session.rollback()
        return error(422, **{exc.field: [exc.message]})
    ticket = new.ticket
    response = jsonify(_document(ticket))
    response.status_code = 201 if new.created else 200
    response.headers["Location"] = public_url(url_for("api.get_ticket", code=ticket.code))
    return response


@bp.get("/tickets/<code>")
@api_key_required
def get_ticket(code: str):
    """Return a ticket this key created (404 for any other code: no enumeration)."""
    ticket = ticket_by_code(code)
    if ticket is not None:
        owned = db.session.execute(
            select(InboundMessage.id).where(
                InboundMessage.ticket_id == ticket.id,
                InboundMessage.channel == CHANNEL,
                InboundMessage.provider_id.startswith(f"{g.api_key.id}:", autoescape=True),
            )
        ).first()
        if owned is not None:
            return jsonify(_document(ticket))
    return error(404, code=["no ticket with this code was created with this API key"])


def build_spec() -> APISpec:
    """Return the OpenAPI 3 document of this API, generated from the marshmallow schemas."""
    spec = APISpec(
        title="Hotline 1022 API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Submit and follow citizen reports. Open311 GeoReport v2 "
            "is also available under /open311/v2/."
        },
        servers=[{"url": current_app.config["PUBLIC_BASE_URL"] + "/api/v1"}],
    )
    spec.components.security_scheme(
        "ApiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    )
    spec.components.schema("TicketCreate", schema=TicketCreateSchema)
    spec.components.schema("Ticket", schema=TicketSchema)
    spec.components.schema("Errors", schema=ErrorSchema)

    def answer(text: str, schema: str) -> dict:
        return {"description": text, "content": {"application/json": {"schema": schema}}}

    errors = {
        "401": answer("Missing or invalid API key", "Errors"),
    }
    spec.path(
        path="/tickets",
        operations={
            "post": {
                "summary": "Open a ticket",
                "security": [{"ApiKey": []}],
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 80},
                        "description": "Retrying with the same key returns the same ticket.",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "TicketCreate"}},
                },
                "responses": {
                    "201": answer("Ticket created", "Ticket"),
                    "200": answer("Replay of an earlier call with this Idempotency-Key", "Ticket"),
                    "400": answer("The body is not a JSON object", "Errors"),
                    **errors,
                    "409": answer("Idempotency-Key reused with a different body", "Errors"),
                    "422": answer("Invalid fields", "Errors"),
                },
            }
        },
    )
    spec.path(
        path="/tickets/{code}",
        operations={
            "get": {
                "summary": "Read a ticket created with this key",
                "security": [{"ApiKey": []}],
                "parameters": [
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9]{10}$"},
                    }
                ],
                "responses": {
                    "200": answer("The ticket", "Ticket"),
                    **errors,
                    "404": answer("Unknown ticket", "Errors"),
                },
            }
        },
    )
    return spec


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document."""
    return jsonify(build_spec().to_dict())


@bp.get("/docs")
def docs():
    """A readable page of the API, rendered here from the OpenAPI document (no CDN)."""
    return render_template("public/api_docs.html", spec=build_spec().to_dict())
