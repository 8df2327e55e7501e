"""Tests of the JSON API: keys, schema errors, idempotency, the OpenAPI document and docs page."""

from __future__ import annotations

import re

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import ApiKey
from tests import factories
from tests.intake.conftest import only_ticket, routing_job_ids, ticket_count

BODY = {
    "description": "Đèn đường hỏng cả đoạn đường Nguyễn Tất Thành",
    "category": "trat-tu-do-thi",
    "commune": "phuong-tan-lap",
    "phone": "+84 912 345 678",
    "email": "dan@example.vn",
    "latitude": 12.68,
    "longitude": 108.05,
}
FIELDS = {
    "code",
    "status",
    "channel",
    "category",
    "agency",
    "commune",
    "priority",
    "created_at",
    "acknowledge_due_at",
    "resolve_due_at",
    "public_answer",
}


def create(client, key, body=None, **headers):
    """POST a ticket with KEY."""
    return client.post(
        "/api/v1/tickets",
        json=BODY if body is None else body,
        headers={"X-API-Key": key, **headers},
    )


def test_create_ticket_returns_201_with_the_public_fields(client, api_key, redis_conn):
    """Test that a valid call stores an api ticket and answers its public fields."""
    response = create(client, api_key)
    assert response.status_code == 201
    data = response.json
    assert FIELDS <= set(data)
    ticket = only_ticket()
    assert data["code"] == ticket.code
    assert (data["status"], data["channel"], data["category"]) == (
        "received",
        "api",
        "trat-tu-do-thi",
    )
    assert data["commune"] == "phuong-tan-lap"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", data["created_at"])
    assert ticket.phone == "+84912345678"
    assert response.headers["Location"] == f"https://hotline.test/api/v1/tickets/{ticket.code}"
    assert routing_job_ids(redis_conn) == [f"route-{ticket.id}"]
    for private in ("phone", "email", "citizen_name", "description"):
        assert private not in data


def test_get_ticket_returns_the_fields(client, api_key):
    """Test that GET returns the ticket this key created, with every listed field."""
    code = create(client, api_key).json["code"]
    response = client.get(f"/api/v1/tickets/{code}", headers={"X-API-Key": api_key})
    assert response.status_code == 200
    assert FIELDS <= set(response.json)
    assert response.json["code"] == code


def test_missing_or_wrong_key_is_401(client):
    """Test that both routes refuse a missing or unknown key with 401 and an error body."""
    for key in (None, "", "hk_not-a-real-key"):
        headers = {"X-API-Key": key} if key is not None else {}
        response = client.post("/api/v1/tickets", json=BODY, headers=headers)
        assert response.status_code == 401
        assert "api_key" in response.json["errors"]
        assert client.get("/api/v1/tickets/2612345678", headers=headers).status_code == 401
    assert ticket_count() == 0


def test_inactive_key_is_401(client, api_key):
    """Test that a deactivated key no longer works."""
    row = db.session.execute(select(ApiKey)).scalar_one()
    row.active = False
    db.session.commit()
    assert create(client, api_key).status_code == 401


def test_keys_are_stored_hashed(api_key):
    """Test that the raw key is nowhere in the database, only its SHA-256."""
    row = db.session.execute(select(ApiKey)).scalar_one()
    assert row.key_hash == ApiKey.hash_key(api_key)
    assert api_key not in (row.key_hash, row.prefix)


def test_cli_creates_a_working_key(runner, client):
    """Test that `hotline create-api-key NAME` prints a key that the API accepts."""
    result = runner.invoke(args=["hotline", "create-api-key", "zalo-app"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert raw.startswith("hk_")
    assert create(client, raw).status_code == 201


def test_unknown_code_and_other_keys_ticket_are_404(client, api_key):
    """Test that codes of no ticket, or of tickets another key made, answer 404."""
    other, other_raw = ApiKey.generate("other")
    db.session.add(other)
    db.session.commit()
    code = create(client, other_raw).json["code"]
    response = client.get(f"/api/v1/tickets/{code}", headers={"X-API-Key": api_key})
    assert response.status_code == 404
    assert "code" in response.json["errors"]
    web_ticket = factories.ticket()
    assert (
        client.get(f"/api/v1/tickets/{web_ticket.code}", headers={"X-API-Key": api_key}).status_code
        == 404
    )
    assert client.get("/api/v1/tickets/abc", headers={"X-API-Key": api_key}).status_code == 404


def test_body_that_is_not_an_object_is_400(client, api_key):
    """Test that a body that is not a JSON object is a 400 with an error body."""
    for raw in (b"not json", b"[1, 2]", b'"text"'):
        response = client.post(
            "/api/v1/tickets",
            data=raw,
            headers={"X-API-Key": api_key, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, raw
        assert "_schema" in response.json["errors"]


SCHEMA_ERRORS = [
    ({"description": None}, "description"),
    ({"description": "ngắn"}, "description"),
    ({"phone": "123"}, "phone"),
    ({"email": "not-an-email"}, "email"),
    ({"latitude": 200}, "latitude"),
    ({"unexpected": 1}, "unexpected"),
    ({"category": "khong-ton-tai"}, "category"),
    ({"commune": "xa-khong-ton-tai"}, "commune"),
    ({"contact_consent": "maybe"}, "contact_consent"),
]


def test_schema_errors_are_422_by_field(client, api_key):
    """Test that invalid fields answer 422 {"errors": {field: [message]}} and store nothing."""
    for change, field in SCHEMA_ERRORS:
        body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
        response = create(client, api_key, body)
        assert response.status_code == 422, field
        errors = response.json["errors"]
        assert isinstance(errors[field], list) and errors[field], field
    assert ticket_count() == 0


def test_idempotency_key_replay_and_conflict(client, api_key):
    """Test that a retried Idempotency-Key returns the same ticket; another body gets 409."""
    first = create(client, api_key, **{"Idempotency-Key": "order-42"})
    again = create(client, api_key, **{"Idempotency-Key": "order-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["code"] == again.json["code"]
    other = create(
        client,
        api_key,
        {**BODY, "description": "Một nội dung khác hẳn"},
        **{"Idempotency-Key": "order-42"},
    )
    assert other.status_code == 409
    assert "idempotency_key" in other.json["errors"]
    assert ticket_count() == 1


def test_openapi_document_is_generated_from_the_schemas(client):
    """Test that /api/v1/openapi.json is OpenAPI 3 with both operations and the schemas."""
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {"/tickets", "/tickets/{code}"}
    schemas = spec["components"]["schemas"]
    assert {"TicketCreate", "Ticket", "Errors"} <= set(schemas)
    assert "description" in schemas["TicketCreate"]["required"]
    assert schemas["TicketCreate"]["properties"]["description"]["maxLength"] == 4000
    assert FIELDS <= set(schemas["Ticket"]["properties"])
    post = spec["paths"]["/tickets"]["post"]
    assert {"201", "400", "401", "409", "422"} <= set(post["responses"])
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"


def test_docs_page_is_served_locally(client):
    """Test that the docs page renders the operations and loads nothing from elsewhere."""
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/tickets/{code}" in html
    assert "TicketCreate" in html
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not src.startswith(("http://", "https://", "//")) or "hotline.test" in src, src
