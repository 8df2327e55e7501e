"""Tests of the Open311 POST /requests schema and of its GeoReport error list."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from hotline.intake.open311_schemas import ServiceRequestSchema, form_errors
from tests.intake.conftest import ticket_count

VALID = {
    "service_code": "dien",
    "lat": "12.7",
    "long": "108.1",
    "description": "Mất điện cả thôn",
}


def load(**change: str) -> dict:
    """Load VALID with CHANGE applied (a None value removes the field)."""
    form = {**VALID, **change}
    return ServiceRequestSchema().load({k: v for k, v in form.items() if v is not None})


def errors_of(**change: str) -> list[str]:
    """Return the flat error list of loading VALID with CHANGE applied."""
    with pytest.raises(ValidationError) as caught:
        load(**change)
    return form_errors(caught.value)


def test_a_valid_form_loads_the_values_to_store():
    """Test that loading trims, normalises the phone, joins the name and keeps web media."""
    form = load(
        phone=" 0912345678 ",
        first_name=" Lan ",
        last_name="Hồ",
        email="  lan@example.org ",
        media_url="https://example.org/a.jpg",
        **{"attribute[commune]": " phuong-tan-lap "},
    )
    assert form["lat"] == 12.7 and form["long"] == 108.1
    assert form["phone"] == "+84912345678"
    assert form["name"] == "Lan Hồ"
    assert form["email"] == "lan@example.org"
    assert form["commune"] == "phuong-tan-lap"
    assert form["media_url"] == "https://example.org/a.jpg"


def test_blank_fields_are_absent_and_long_identifiers_are_cut():
    """Test that blank fields count as absent and ids keep 120 characters, email 255."""
    form = load(phone="  ", email="a" * 300, device_id="d" * 200, media_url="ftp://x/y")
    assert form["phone"] is None
    assert len(form["email"]) == 255
    assert len(form["device_id"]) == 120
    assert form["media_url"] == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"service_code": " "}, "service_code is required"),
        ({"description": None}, "description is required"),
        ({"description": "x" * 4001}, "description is longer than 4000 characters"),
        ({"lat": "abc"}, "lat must be a number"),
        ({"lat": "91"}, "lat is out of range"),
        ({"long": "nan"}, "long is out of range"),
        ({"long": "inf"}, "long is out of range"),
        ({"long": ""}, "lat and long must be given together"),
        ({"phone": "12"}, "phone is not a valid phone number"),
        (
            {"lat": None, "long": None},
            "a location is required: lat and long, address_string, address_id "
            "or attribute[commune]",
        ),
    ],
)
def test_each_bad_field_has_its_open311_message(change: dict, message: str):
    """Test that each invalid field is reported with a sentence naming the form field."""
    assert errors_of(**change) == [message]


def test_every_bad_field_is_reported_in_form_order():
    """Test that several bad fields give several messages, in the order of the form."""
    assert errors_of(service_code="", lat="x", phone="12", description=None) == [
        "service_code is required",
        "lat must be a number",
        "description is required",
        "phone is not a valid phone number",
    ]


def test_post_with_several_bad_fields_answers_one_error_each(client, api_key):
    """Test that the POST answers a GeoReport error per bad field (JSON and XML), storing none."""
    form = {"api_key": api_key, "service_code": "dien", "lat": "x", "long": "1", "phone": "12"}
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 400
    assert response.get_json() == [
        {"code": 400, "description": "lat must be a number"},
        {"code": 400, "description": "description is required"},
        {"code": 400, "description": "phone is not a valid phone number"},
    ]
    response = client.post("/open311/v2/requests.xml", data=form)
    assert response.status_code == 400
    assert response.data.count(b"<error>") == 3
    assert ticket_count() == 0
