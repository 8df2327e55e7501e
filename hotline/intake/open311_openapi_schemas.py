"""The document schemas of the Open311 OpenAPI description: GeoReport v2's items and lists.

Lists are wrapped as GeoReport's XML shows them (`<services><service>...`); the `xml`
names say so, for the `.xml` variant of each route.
"""

from __future__ import annotations

from typing import Any

DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"

_text = {"type": "string"}
_text_or_null = {"type": ["string", "null"]}
_datetime = {"type": "string", "pattern": DATETIME_PATTERN, "description": "W3C date-time"}
_datetime_or_blank = {"anyOf": [_datetime, {"type": "string", "maxLength": 0}]}


def item_list(item_ref: str, wrapper: str, item: str, **extra: Any) -> dict:
    """A list of ITEM_REF components, wrapped in WRAPPER with ITEM elements in XML."""
    return {
        "type": "array",
        "xml": {"name": wrapper, "wrapped": True},
        "items": {"$ref": f"#/components/schemas/{item_ref}", "xml": {"name": item}},
        **extra,
    }


def components() -> dict:
    """The document schemas: items as components, lists wrapped as GeoReport's XML shows."""
    return {
        "Endpoint": {
            "type": "object",
            "required": ["specification", "url", "changeset", "type", "formats"],
            "properties": {
                "specification": _text,
                "url": _text,
                "changeset": _datetime,
                "type": {"enum": ["production", "test"]},
                "formats": {
                    "type": "array",
                    "xml": {"wrapped": True},
                    "items": {"enum": ["text/xml", "application/json"], "xml": {"name": "format"}},
                },
            },
        },
        "Discovery": {
            "type": "object",
            "xml": {"name": "discovery"},
            "required": ["changeset", "contact", "key_service", "endpoints"],
            "properties": {
                "changeset": _datetime,
                "contact": _text,
                "key_service": _text,
                "endpoints": item_list("Endpoint", "endpoints", "endpoint"),
            },
        },
        "Service": {
            "type": "object",
            "required": ["service_code", "service_name", "metadata", "type"],
            "properties": {
                "service_code": _text,
                "service_name": _text,
                "description": _text,
                "metadata": {"type": "boolean"},
                "type": {"enum": ["realtime", "batch", "blackbox"]},
                "keywords": _text,
                "group": _text,
            },
        },
        "AttributeValue": {
            "type": "object",
            "required": ["key", "name"],
            "properties": {"key": _text, "name": _text},
        },
        "Attribute": {
            "type": "object",
            "required": ["variable", "code", "datatype", "required", "order", "description"],
            "properties": {
                "variable": {"type": "boolean"},
                "code": _text,
                "datatype": {
                    "enum": [
                        "string",
                        "number",
                        "datetime",
                        "text",
                        "singlevaluelist",
                        "multivaluelist",
                    ]
                },
                "required": {"type": "boolean"},
                "datatype_description": _text_or_null,
                "order": {"type": "integer", "minimum": 0},
                "description": _text,
                "values": item_list("AttributeValue", "values", "value"),
            },
        },
        "ServiceDefinition": {
            "type": "object",
            "xml": {"name": "service_definition"},
            "required": ["service_code", "attributes"],
            "properties": {
                "service_code": _text,
                "attributes": item_list("Attribute", "attributes", "attribute"),
            },
        },
        "ServiceRequest": {
            "type": "object",
            "description": "A ticket, without the citizen's words or contact details.",
            "required": ["service_request_id", "status", "service_code", "requested_datetime"],
            "properties": {
                "service_request_id": {**_text, "description": "The 10-digit ticket code."},
                "status": {"enum": ["open", "closed"]},
                "status_notes": {
                    **_text_or_null,
                    "description": "The state's Vietnamese label; the published answer once "
                    "the ticket is answered.",
                },
                "service_name": _text_or_null,
                "service_code": _text_or_null,
                "description": {**_text_or_null, "description": "Always empty (privacy)."},
                "agency_responsible": _text_or_null,
                "service_notice": _text_or_null,
                "requested_datetime": _datetime,
                "updated_datetime": _datetime_or_blank,
                "expected_datetime": _datetime_or_blank,
                "address": {**_text_or_null, "description": "The commune's name."},
                "address_id": _text_or_null,
                "zipcode": _text_or_null,
                "lat": {"type": ["number", "null"]},
                "long": {"type": ["number", "null"]},
                "media_url": _text_or_null,
            },
        },
        "Created": {
            "type": "object",
            "required": ["service_request_id", "token"],
            "properties": {
                "service_request_id": _text,
                "token": _text,
                "service_notice": _text_or_null,
                "account_id": _text_or_null,
            },
        },
        "Token": {
            "type": "object",
            "required": ["service_request_id", "token"],
            "properties": {"service_request_id": _text, "token": _text},
        },
        "Error": {
            "type": "object",
            "required": ["code", "description"],
            "properties": {
                "code": {"type": "integer", "description": "The HTTP status."},
                "description": _text,
            },
        },
    }
