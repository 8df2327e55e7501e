"""Marshmallow schemas of the JSON API; the OpenAPI document is generated from them."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from hotline.phones import normalize_phone
from hotline.timeutil import as_utc


class TicketCreateSchema(Schema):
    """What a third-party app sends to open a ticket."""

    description = fields.String(
        required=True,
        validate=validate.Length(min=10, max=4000),
        metadata={"description": "The citizen's report, 10 to 4,000 characters."},
    )
    category = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "A category code (see the Open311 services), if known."},
    )
    commune = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "A commune code, e.g. 'phuong-tan-lap', if known."},
    )
    address = fields.String(load_default="", validate=validate.Length(max=500))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    citizen_name = fields.String(load_default="", validate=validate.Length(max=255))
    phone = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Vietnamese or international number; stored as E.164."},
    )
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=255))
    contact_consent = fields.Boolean(load_default=False)
    locale = fields.String(load_default="vi", validate=validate.OneOf(["vi", "en"]))

    @validates("phone")
    def _phone(self, value: str | None, **_kwargs) -> None:
        if value and normalize_phone(value) is None:
            raise ValidationError("Not a valid phone number.")


def _iso(value) -> str | None:
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


class TicketSchema(Schema):
    """A ticket as the API shows it: no personal data."""

    code = fields.String(metadata={"description": "10-digit ticket code."})
    status = fields.String(metadata={"description": "Internal state (SPEC §3)."})
    status_label = fields.String(metadata={"description": "The state's Vietnamese label."})
    channel = fields.String()
    category = fields.String(allow_none=True, metadata={"description": "Category code."})
    agency = fields.String(allow_none=True, metadata={"description": "Agency code."})
    commune = fields.String(allow_none=True, metadata={"description": "Commune code."})
    commune_name = fields.String(allow_none=True)
    priority = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    acknowledge_due_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    resolve_due_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    public_answer = fields.String(
        allow_none=True, metadata={"description": "The answer, once the ticket is closed."}
    )


class ErrorSchema(Schema):
    """Errors by field: `{"errors": {"field": ["message"]}}`."""

    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


def ticket_document(ticket, status_label: str, answered: bool) -> dict:
    """Return TICKET as the plain dict TicketSchema describes."""
    return TicketSchema().dump(
        {
            "code": ticket.code,
            "status": ticket.status,
            "status_label": status_label,
            "channel": ticket.channel,
            "category": ticket.category.code if ticket.category else None,
            "agency": ticket.agency.code if ticket.agency else None,
            "commune": ticket.commune.code if ticket.commune else None,
            "commune_name": ticket.commune.full_name if ticket.commune else None,
            "priority": ticket.priority,
            "created_at": _iso(ticket.created_at),
            "acknowledge_due_at": _iso(ticket.acknowledge_due_at),
            "resolve_due_at": _iso(ticket.resolve_due_at),
            "public_answer": ticket.public_answer if answered else None,
        }
    )
