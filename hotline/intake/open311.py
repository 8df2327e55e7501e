"""Open311 GeoReport v2 at /open311/v2/: discovery, services, requests, tokens (JSON and XML).

Mapping: categories are the services; the commune is a `singlevaluelist` attribute; our
ticket code is the `service_request_id`; internal states become open/closed with the
Vietnamese label in `status_notes`. The citizen's words and contact details are never
published here (the spec lets a jurisdiction leave `description` empty).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlparse

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import Select, select

from hotline.extensions import db
from hotline.intake.api import key_from_header
from hotline.intake.common import (
    all_communes,
    commune_by_code,
    is_answered,
    public_url,
    status_label,
)
from hotline.intake.open311_format import render, render_errors, w3c_datetime
from hotline.intake.open311_params import (
    Open311Error,
    query_datetime,
    query_list,
    query_positive_int,
)
from hotline.intake.open311_schemas import ServiceRequestSchema, form_errors
from hotline.models import Category, Ticket
from hotline.province import province_json
from hotline.tickets.codes import clean_code, is_valid_code
from hotline.tickets.errors import InvalidInput
from hotline.tickets.services import (
    InboundRecord,
    NewAttachment,
    Report,
    create_ticket,
    find_inbound,
)
from hotline.timeutil import utcnow

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = "any(json, xml)"
CHANNEL = "open311"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_RANGE = timedelta(days=90)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Service definitions change only with a province data release.
CHANGESET = "2025-07-01T00:00:00+07:00"


@bp.errorhandler(Open311Error)
def _answer_error(exc: Open311Error):
    fmt = (request.view_args or {}).get("fmt", "json")
    return render_errors(fmt, exc.status, exc.descriptions)


def _check_jurisdiction() -> None:
    given = (request.values.get("jurisdiction_id") or "").strip()
    if not given:
        return
    accepted = {
        province_json("province.json").get("code", ""),
        urlparse(current_app.config["PUBLIC_BASE_URL"]).hostname or "",
    }
    if given not in accepted:
        raise Open311Error(404, "jurisdiction_id not found")


def _categories() -> list[Category]:
    return list(
        db.session.execute(select(Category).filter_by(active=True).order_by(Category.code))
        .scalars()
        .all()
    )


def _category(code: str) -> Category:
    category = db.session.execute(
        select(Category).filter_by(code=code, active=True)
    ).scalar_one_or_none()
    if category is None:
        raise Open311Error(404, f"service_code {code} not found")
    return category


# --- discovery and services -------------------------------------------------------------


@bp.get(f"/discovery.<{FORMATS}:fmt>")
def discovery(fmt: str):
    """Service discovery: where the GeoReport v2 endpoint is and what formats it speaks."""
    return render(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": province_json("province.json").get("hotline_name", "1022"),
            "key_service": public_url("/api/v1/docs"),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": public_url("/open311/v2"),
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@bp.get(f"/services.<{FORMATS}:fmt>")
def services(fmt: str):
    """The list of services: one per active category."""
    _check_jurisdiction()
    items = [
        {
            "service_code": c.code,
            "service_name": c.name_vi,
            "description": c.name_vi,
            "metadata": True,
            "type": "realtime",
            "keywords": c.name_en,
            "group": c.agency.name if c.agency else "",
        }
        for c in _categories()
    ]
    return render(fmt, "services", items)


@bp.get(f"/services/<code>.<{FORMATS}:fmt>")
def service_definition(code: str, fmt: str):
    """A service's attributes: the commune, chosen from the province's list."""
    _check_jurisdiction()
    category = _category(code)
    values = [{"key": c.code, "name": c.full_name} for c in all_communes()]
    definition = {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": "commune",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": _("Mã xã, phường trong danh sách"),
                "order": 1,
                "description": _("Xã, phường nơi xảy ra sự việc"),
                "values": values,
            }
        ],
    }
    return render(fmt, "service_definition", definition)


# --- requests ---------------------------------------------------------------------------


def request_document(ticket: Ticket) -> dict:
    """Return TICKET as a GeoReport service request (no personal data)."""
    notes = status_label(ticket.status)
    if is_answered(ticket) and ticket.answer_published:
        notes = f"{notes}. {ticket.public_answer}"
    return {
        "service_request_id": ticket.code,
        "status": "closed" if ticket.status == "closed" else "open",
        "status_notes": notes,
        "service_name": ticket.category.name_vi if ticket.category else "",
        "service_code": ticket.category.code if ticket.category else "",
        "description": "",
        "agency_responsible": ticket.agency.name if ticket.agency else "",
        "service_notice": "",
        "requested_datetime": w3c_datetime(ticket.created_at),
        "updated_datetime": w3c_datetime(ticket.updated_at),
        "expected_datetime": w3c_datetime(ticket.resolve_due_at),
        "address": ticket.commune.full_name if ticket.commune else "",
        "address_id": "",
        "zipcode": "",
        "lat": ticket.latitude,
        "long": ticket.longitude,
        "media_url": "",
    }


def _date_range() -> tuple[datetime, datetime]:
    """Return the start_date/end_date window: at most 90 days, the last 90 by default."""
    start, end = query_datetime("start_date"), query_datetime("end_date")
    if start and end and start > end:
        raise Open311Error(400, "start_date is after end_date")
    if start and end and end - start > MAX_RANGE:
        raise Open311Error(400, "the date range may not span more than 90 days")
    if start is None:
        end = end or utcnow()
        return end - MAX_RANGE, end
    return start, end or start + MAX_RANGE


def _filtered(query: Select) -> Select:
    """Narrow QUERY by the date range, the open/closed status and the service codes."""
    start, end = _date_range()
    query = query.where(Ticket.created_at >= start, Ticket.created_at <= end)
    statuses = query_list("status")
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(400, "status must be open or closed (comma-delimited)")
    if len(set(statuses)) == 1:
        closed = statuses[0] == "closed"
        query = query.where((Ticket.status == "closed") if closed else (Ticket.status != "closed"))
    service_codes = query_list("service_code")
    if service_codes:
        query = query.join(Category, Ticket.category_id == Category.id).where(
            Category.code.in_(service_codes)
        )
    return query


@bp.get(f"/requests.<{FORMATS}:fmt>")
def list_requests(fmt: str):
    """Service requests by id, or filtered by service, dates and status, newest first."""
    _check_jurisdiction()
    query = select(Ticket)
    ids = query_list("service_request_id")
    if ids:  # the spec: ids override every other filter
        codes = [clean_code(i) for i in ids if is_valid_code(clean_code(i))]
        query = query.where(Ticket.code.in_(codes))
    else:
        query = _filtered(query)
    page = query_positive_int("page", 1, 100_000)
    size = query_positive_int("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    tickets = (
        db.session.execute(
            query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(size)
            .offset((page - 1) * size)
        )
        .unique()
        .scalars()
        .all()
    )
    return render(fmt, "service_requests", [request_document(t) for t in tickets])


@bp.get(f"/requests/<request_id>.<{FORMATS}:fmt>")
def get_request(request_id: str, fmt: str):
    """One service request, as a one-item list (as the spec shows it)."""
    _check_jurisdiction()
    code = clean_code(request_id)
    ticket = None
    if is_valid_code(code):
        ticket = db.session.execute(select(Ticket).filter_by(code=code)).scalar_one_or_none()
    if ticket is None:
        raise Open311Error(404, f"service_request_id {request_id} not found")
    return render(fmt, "service_requests", [request_document(ticket)])


@bp.get(f"/tokens/<token>.<{FORMATS}:fmt>")
def get_token(token: str, fmt: str):
    """The service request a POST's token became (ours are created at once)."""
    _check_jurisdiction()
    seen = find_inbound(CHANNEL, token[:120]) if token else None
    if seen is None or seen.ticket is None:
        raise Open311Error(404, f"token {token} not found")
    return render(
        fmt,
        "service_requests",
        [{"service_request_id": seen.ticket.code, "token": token}],
    )


def _token(key_id: int) -> str:
    """Return the request's token: random, or derived from an Idempotency-Key header.

    GeoReport v2 has no retry key; a client that sends `Idempotency-Key` (as with our JSON
    API) gets the same token, and so the same service request, when it retries a POST.
    """
    idem = (request.headers.get("Idempotency-Key") or "").strip()
    if not idem:
        return uuid.uuid4().hex
    if len(idem) > 80:
        raise Open311Error(400, "Idempotency-Key is longer than 80 characters")
    return hashlib.sha256(f"{key_id}:{idem}".encode()).hexdigest()[:32]


def _posted_request() -> dict:
    """Return the POSTed form loaded by `ServiceRequestSchema`, or raise every problem."""
    try:
        return ServiceRequestSchema().load(request.form)
    except ValidationError as exc:
        raise Open311Error(400, *form_errors(exc)) from None


def _active_category(code: str) -> Category:
    """Return the active category of service_code CODE (a POST's error is a 400, not 404)."""
    category = db.session.execute(
        select(Category).filter_by(code=code, active=True)
    ).scalar_one_or_none()
    if category is None:
        raise Open311Error(400, f"service_code {code} not found")
    return category


@bp.post(f"/requests.<{FORMATS}:fmt>")
def create_request(fmt: str):
    """Create a service request (form-encoded, with api_key); answer its id and token."""
    _check_jurisdiction()
    key = key_from_header(request.form.get("api_key"))
    if key is None:
        raise Open311Error(403, "api_key was not provided or is not valid")
    form = _posted_request()
    category = _active_category(form["service_code"])
    commune = commune_by_code(form["commune"])
    if form["commune"] and commune is None:
        raise Open311Error(400, "attribute[commune] is not one of the service's values")
    media_url = form["media_url"]
    token = _token(key.id)
    try:
        report = Report(
            channel=CHANNEL,
            description=form["description"],
            category_code=category.code,
            commune_id=commune.id if commune else None,
            address=form["address_string"] or form["address_id"],
            latitude=form["lat"],
            longitude=form["long"],
            citizen_name=form["name"],
            phone=form["phone"],
            email=form["email"],
            contact_consent=bool(form["phone"] or form["email"]),
        )
        ticket = create_ticket(
            report,
            inbound=InboundRecord(
                CHANNEL,
                token,
                data={
                    "api_key_id": key.id,
                    "device_id": form["device_id"],
                    "account_id": form["account_id"],
                },
            ),
            attachments=[NewAttachment("photo", source_url=media_url)] if media_url else [],
        )
    except InvalidInput as exc:
        db.session.rollback()
        raise Open311Error(400, f"{exc.field} {exc.message}") from None
    created = {
        "service_request_id": ticket.code,
        "token": token,
        "service_notice": "",
        "account_id": form["account_id"],
    }
    return render(fmt, "service_requests", [created])
