"""The marshmallow schema of an Open311 POST /requests, as `/api/v1` validates its tickets.

GeoReport v2 posts a form, not JSON, and answers errors as its own list of
`{"code", "description"}`, so the messages here are whole sentences naming the form field
(`lat must be a number`), and `form_errors` flattens marshmallow's per-field messages into
that list. What needs the database (does the service code or the commune exist?) is
checked by the view after the schema.
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from hotline.phones import normalize_phone

__all__ = ["ServiceRequestSchema", "form_errors"]

MAX_DESCRIPTION = 4000
MAX_IDENTIFIER = 120  # device_id and account_id, as the inbound record keeps them
MAX_EMAIL = 255
MAX_MEDIA_URL = 1000


def _text(name: str) -> fields.String:
    """An optional free-text form field (blank is the same as absent)."""
    return fields.String(data_key=name, load_default="")


def _coordinate(name: str, limit: float) -> fields.Float:
    """An optional number between -LIMIT and LIMIT; "nan" and "inf" are out of range."""
    out_of_range = f"{name} is out of range"
    return fields.Float(
        data_key=name,
        load_default=None,
        validate=validate.Range(-limit, limit, error=out_of_range),
        error_messages={"invalid": f"{name} must be a number", "special": out_of_range},
    )


class ServiceRequestSchema(Schema):
    """What a GeoReport client posts to create a service request (form-encoded).

    Loading gives the values `create_request` stores: the phone in E.164, the name in one
    string, identifiers cut to what the inbound record keeps.
    """

    class Meta:
        # api_key, jurisdiction_id and other attribute[...] fields are read elsewhere or
        # ignored, as the spec lets a server ignore what it does not know.
        unknown = EXCLUDE

    service_code = fields.String(
        required=True, error_messages={"required": "service_code is required"}
    )
    lat = _coordinate("lat", 90)
    long = _coordinate("long", 180)
    address_string = _text("address_string")
    address_id = _text("address_id")
    commune = _text("attribute[commune]")
    description = fields.String(
        required=True,
        validate=validate.Length(
            max=MAX_DESCRIPTION, error=f"description is longer than {MAX_DESCRIPTION} characters"
        ),
        error_messages={"required": "description is required"},
    )
    phone = _text("phone")
    email = _text("email")
    first_name = _text("first_name")
    last_name = _text("last_name")
    media_url = _text("media_url")
    device_id = _text("device_id")
    account_id = _text("account_id")

    @pre_load
    def _drop_blanks(self, data: Any, **_kwargs: Any) -> dict[str, str]:
        """Trim every value and drop the blank ones: GeoReport clients send empty fields."""
        return {
            key: value.strip()
            for key, value in data.items()
            if isinstance(value, str) and value.strip()
        }

    @validates("phone")
    def _phone(self, value: str, **_kwargs: Any) -> None:
        if value and normalize_phone(value) is None:
            raise ValidationError("phone is not a valid phone number")

    @validates_schema
    def _location(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """A request must say where: coordinates (both), an address or a commune."""
        if (data["lat"] is None) != (data["long"] is None):
            raise ValidationError("lat and long must be given together")
        if data["lat"] is None and not (
            data["address_string"] or data["address_id"] or data["commune"]
        ):
            raise ValidationError(
                "a location is required: lat and long, address_string, address_id "
                "or attribute[commune]"
            )

    @post_load
    def _clean(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """Derive the stored values: E.164 phone, one name, lengths the columns keep."""
        data["phone"] = normalize_phone(data["phone"]) if data["phone"] else None
        data["email"] = data["email"][:MAX_EMAIL] or None
        data["name"] = " ".join(p for p in (data.pop("first_name"), data.pop("last_name")) if p)
        data["device_id"] = data["device_id"][:MAX_IDENTIFIER]
        data["account_id"] = data["account_id"][:MAX_IDENTIFIER]
        media_url = data["media_url"]
        is_web = media_url.startswith(("https://", "http://"))
        data["media_url"] = media_url[:MAX_MEDIA_URL] if is_web else ""
        return data


def form_errors(error: ValidationError) -> list[str]:
    """Return the messages of a failed load as a flat list, in the order of the form.

    Messages of the whole form (the location rules) come last, as they are only checked
    once each field is valid.
    """
    messages = error.normalized_messages()
    ordered: list[str] = []
    for field in ServiceRequestSchema().fields.values():
        ordered += _as_list(messages.get(field.data_key or field.name))
    ordered += _as_list(messages.get("_schema"))
    return ordered


def _as_list(value: Any) -> list[str]:
    """Return marshmallow's message(s) for one key as a list of strings."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]
