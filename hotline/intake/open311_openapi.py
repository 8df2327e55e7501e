"""An OpenAPI 3.1 description of the Open311 GeoReport v2 routes (/open311/v2/openapi.json).

Written by hand from what `hotline.intake.open311` answers (not generated from it): every
operation exists twice, once per format suffix, because the format decides the media type
(`.json`: application/json, `.xml`: text/xml with the element names given under `xml`).
Errors are the GeoReport error list, `[{"code": <HTTP status>, "description": "..."}]`.
Service codes and commune codes are listed as enums from the live reference data, so a
client (or a fuzzer) can tell a valid value from an invalid one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, current_app, jsonify
from sqlalchemy import select

from hotline.extensions import db
from hotline.intake.open311 import MAX_PAGE_SIZE
from hotline.intake.open311_openapi_schemas import components, item_list
from hotline.models import Category, Commune
from hotline.province import province_json

bp = Blueprint("open311_docs", __name__, url_prefix="/open311/v2")

FORMATS = {"json": "application/json", "xml": "text/xml"}
# A path segment: Werkzeug's default converter takes anything but a slash.
SEGMENT = {"type": "string", "minLength": 1, "maxLength": 120, "pattern": "^[^/]+$"}


def _content(fmt: str, schema: dict) -> dict:
    return {FORMATS[fmt]: {"schema": schema}}


def _ok(fmt: str, text: str, schema: dict) -> dict:
    return {"description": text, "content": _content(fmt, schema)}


def _errors(fmt: str, *statuses: tuple[str, str]) -> dict:
    schema = item_list("Error", "errors", "error", minItems=1)
    return {status: _ok(fmt, text, schema) for status, text in statuses}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str, description: str, schema: dict) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


@dataclass(frozen=True)
class Reference:
    """The live values the document lists: service codes, commune codes, jurisdictions."""

    services: list[str]
    communes: list[str]
    jurisdictions: list[str]

    def jurisdiction(self) -> dict:
        """The optional jurisdiction_id query parameter."""
        return _query(
            "jurisdiction_id",
            "Optional: the province code or this site's host name; anything else is a 404.",
            {"enum": self.jurisdictions},
        )


def _reference() -> Reference:
    services = db.session.execute(
        select(Category.code).filter_by(active=True).order_by(Category.code)
    ).scalars()
    communes = db.session.execute(select(Commune.code).order_by(Commune.code)).scalars()
    host = urlparse(current_app.config["PUBLIC_BASE_URL"]).hostname or ""
    province = province_json("province.json").get("code", "")
    return Reference(list(services), list(communes), [j for j in (province, host) if j])


_SOME_TEXT = {"type": "string", "pattern": r"\S"}  # blank after trimming counts as absent


def _post_body(ref: Reference) -> dict:
    text = {"type": "string"}
    properties = {
        "api_key": {**text, "description": "An API key (the same keys as /api/v1)."},
        "jurisdiction_id": {"enum": ref.jurisdictions},
        "service_code": {"enum": ref.services, "description": "One of /services."},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": _SOME_TEXT,
        "address_id": _SOME_TEXT,
        "attribute[commune]": {"enum": ref.communes, "description": "A commune code."},
        "email": text,
        "device_id": text,
        "account_id": text,
        "first_name": text,
        "last_name": text,
        "phone": {**text, "description": "A Vietnamese or international phone number."},
        "description": {**_SOME_TEXT, "maxLength": 4000},
        "media_url": {**text, "description": "An http(s) URL of a photo."},
    }
    return {
        "required": True,
        "description": "Form-encoded. A location is required: lat and long together, "
        "address_string, address_id or attribute[commune]. A phone that is not a valid "
        "number is a 400.",
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code", "description"],
                    "properties": properties,
                    "dependentRequired": {"lat": ["long"], "long": ["lat"]},
                    "anyOf": [
                        {"required": ["lat", "long"]},
                        {"required": ["address_string"]},
                        {"required": ["address_id"]},
                        {"required": ["attribute[commune]"]},
                    ],
                }
            }
        },
    }


def _operations(fmt: str, ref: Reference) -> dict:
    """Return the paths of one format: the services, then the service requests."""
    return {**_service_paths(fmt, ref), **_request_paths(fmt, ref)}


def _service_paths(fmt: str, ref: Reference) -> dict:
    """Discovery, the list of services and a service's definition."""
    return {
        f"/discovery.{fmt}": {
            "get": {
                "summary": f"Service discovery ({fmt.upper()})",
                "responses": {
                    "200": _ok(fmt, "The endpoint", {"$ref": "#/components/schemas/Discovery"})
                },
            }
        },
        f"/services.{fmt}": {
            "get": {
                "summary": f"The services: one per active category ({fmt.upper()})",
                "parameters": [ref.jurisdiction()],
                "responses": {
                    "200": _ok(fmt, "The services", item_list("Service", "services", "service")),
                    **_errors(fmt, ("404", "Unknown jurisdiction_id")),
                },
            }
        },
        f"/services/{{service_code}}.{fmt}": {
            "get": {
                "summary": f"A service's attributes: the commune ({fmt.upper()})",
                "parameters": [
                    _path("service_code", "A service code", {"enum": ref.services}),
                    ref.jurisdiction(),
                ],
                "responses": {
                    "200": _ok(
                        fmt, "The definition", {"$ref": "#/components/schemas/ServiceDefinition"}
                    ),
                    **_errors(fmt, ("404", "Unknown service_code or jurisdiction_id")),
                },
            }
        },
    }


def _request_paths(fmt: str, ref: Reference) -> dict:
    """Listing and creating service requests, one request, and a token's request."""
    requests = item_list("ServiceRequest", "service_requests", "request")
    return {
        f"/requests.{fmt}": {"get": _list_requests(fmt, ref), "post": _create_request(fmt, ref)},
        f"/requests/{{service_request_id}}.{fmt}": {
            "get": {
                "summary": f"One service request, as a one-item list ({fmt.upper()})",
                "parameters": [
                    _path("service_request_id", "A ticket code", SEGMENT),
                    ref.jurisdiction(),
                ],
                "responses": {
                    "200": _ok(fmt, "The request", requests),
                    **_errors(fmt, ("404", "Unknown request or jurisdiction_id")),
                },
            }
        },
        f"/tokens/{{token}}.{fmt}": {
            "get": {
                "summary": f"The service request a token became ({fmt.upper()})",
                "parameters": [_path("token", "A token from a POST", SEGMENT), ref.jurisdiction()],
                "responses": {
                    "200": _ok(
                        fmt, "The request id", item_list("Token", "service_requests", "request")
                    ),
                    **_errors(fmt, ("404", "Unknown token or jurisdiction_id")),
                },
            }
        },
    }


def _list_requests(fmt: str, ref: Reference) -> dict:
    """GET /requests: the filters, paging, and the list."""
    requests = item_list("ServiceRequest", "service_requests", "request")
    page_size = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
    return {
        "summary": f"Service requests, newest first ({fmt.upper()})",
        "description": "service_request_id overrides every other filter. Without dates, "
        "the last 90 days; a range may span at most 90 days.",
        "parameters": [
            _query("service_request_id", "Comma-delimited ticket codes"),
            _query("service_code", "Comma-delimited service codes"),
            _query("start_date", "W3C date-time with timezone"),
            _query("end_date", "W3C date-time with timezone"),
            _query("status", "open, closed, or both comma-delimited"),
            _query("page", "Page number", {"type": "integer", "minimum": 1, "maximum": 100_000}),
            _query("page_size", "Requests per page (default 50)", page_size),
            ref.jurisdiction(),
        ],
        "responses": {
            "200": _ok(fmt, "The requests", requests),
            **_errors(
                fmt,
                ("400", "A malformed parameter"),
                ("404", "Unknown jurisdiction_id"),
            ),
        },
    }


def _create_request(fmt: str, ref: Reference) -> dict:
    """POST /requests: the form, the Idempotency-Key extension, id and token back."""
    return {
        "summary": f"Create a service request ({fmt.upper()})",
        "description": "Retrying with the same Idempotency-Key header (an extension "
        "of GeoReport v2) returns the same request and token.",
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 80},
            }
        ],
        "requestBody": _post_body(ref),
        "responses": {
            "200": _ok(
                fmt,
                "Created at once: id and token",
                item_list("Created", "service_requests", "request", minItems=1),
            ),
            **_errors(
                fmt,
                ("400", "A missing or invalid field"),
                ("403", "Missing or invalid api_key"),
                ("404", "Unknown jurisdiction_id"),
            ),
        },
    }


def build_open311_spec() -> dict:
    """Return the OpenAPI 3.1 document of the Open311 routes, with the live service codes."""
    ref = _reference()
    paths: dict[str, Any] = {}
    for fmt in FORMATS:
        paths.update(_operations(fmt, ref))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hotline 1022 Open311 GeoReport v2",
            "version": "v2",
            "description": "GeoReport v2 (http://wiki.open311.org/GeoReport_v2): categories "
            "are services, tickets are service requests. Every document comes as JSON "
            "(`.json`) or UTF-8 XML (`.xml`). Errors are a list of {code, description}. "
            "The citizen's words and contact details are never published.",
        },
        "servers": [{"url": current_app.config["PUBLIC_BASE_URL"] + "/open311/v2"}],
        "paths": paths,
        "components": {"schemas": components()},
    }


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of the Open311 routes."""
    return jsonify(build_open311_spec())
