"""Open311 GeoReport v2 conformance: a real server, the third-party `georeport` client, schemas."""

from __future__ import annotations

import threading
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
import requests
from georeport import GeoReport
from jsonschema import validate
from werkzeug.serving import make_server

from hotline.timeutil import utcnow
from tests import factories
from tests.intake import open311_schemas as schemas
from tests.intake.conftest import only_ticket, ticket_count

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


@pytest.fixture(scope="module")
def server(app):
    """The real app behind werkzeug's server on 127.0.0.1 and a free port, in a thread."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    # Polling every 50 ms, shutdown() returns at once (0.5 s by default).
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/open311/v2"
    httpd.shutdown()
    thread.join(timeout=5)
    httpd.server_close()


@pytest.fixture
def georeport(server):
    """The georeport client (PyPI), pointed at our server, JSON output."""
    return GeoReport(server, jurisdiction="daklak")


def _tickets():
    now = utcnow()
    open_one = factories.ticket(
        status="assigned", category_code="dien", now=now - timedelta(days=2)
    )
    closed = factories.ticket(
        status="closed",
        category_code="giao-thong",
        agency_code="so-xay-dung",
        close_reason="answered",
        public_answer="Đã sửa xong.",
        answer_published=True,
        now=now - timedelta(days=1),
    )
    return open_one, closed


def test_discovery_json_and_xml(server):
    """Test that discovery names the GeoReport v2 endpoint and both formats."""
    response = requests.get(f"{server}/discovery.json", timeout=5)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    validate(response.json(), schemas.DISCOVERY)
    assert response.json()["endpoints"][0]["url"] == "https://hotline.test/open311/v2"
    xml = requests.get(f"{server}/discovery.xml", timeout=5)
    assert xml.content.startswith(XML_DECLARATION)
    root = ET.fromstring(xml.content)
    assert root.tag == "discovery"
    formats = [f.text for f in root.iter("format")]
    assert formats == ["text/xml", "application/json"]


def test_services_through_the_client(georeport, server):
    """Test that every active category is a service, readable by the third-party client."""
    services = georeport.get_service_list()
    validate(services, schemas.SERVICES)
    codes = {s["service_code"] for s in services}
    assert {"dien", "giao-thong", "moi-truong"} <= codes
    assert all(s["metadata"] is True for s in services)
    xml_client = GeoReport(server, jurisdiction="daklak", output_format="xml")
    xml_services = xml_client.get_service_list()
    assert {s["service_code"] for s in xml_services} == codes
    dien = next(s for s in xml_services if s["service_code"] == "dien")
    assert dien["service_name"] == "Điện"
    assert dien["metadata"] == "true"


def test_service_definition_has_the_commune_list(georeport, server):
    """Test that a service's definition offers the 102 communes as a singlevaluelist."""
    definition = georeport.get_service_definition("dien")
    validate(definition, schemas.SERVICE_DEFINITION)
    (attribute,) = definition["attributes"]
    assert (attribute["code"], attribute["datatype"]) == ("commune", "singlevaluelist")
    assert len(attribute["values"]) == 102
    assert {"key": "phuong-tan-lap", "name": "phường Tân Lập"} in attribute["values"]
    xml = GeoReport(server, jurisdiction="daklak", output_format="xml")
    definition_xml = xml.get_service_definition("dien")
    assert definition_xml["attributes"]["attribute"]["datatype"] == "singlevaluelist"
    assert len(definition_xml["attributes"]["attribute"]["values"]["value"]) == 102


def test_requests_listed_and_read_through_the_client(georeport, server):
    """Test GET requests / request: ids as strings, open/closed, agency, deadline, ISO dates."""
    open_one, closed = _tickets()
    items = georeport.get_service_requests()
    validate(items, schemas.SERVICE_REQUESTS)
    assert [i["service_request_id"] for i in items] == [closed.code, open_one.code]
    first = georeport.get_service_request(closed.code)
    validate([first], schemas.SERVICE_REQUESTS)
    assert first["status"] == "closed"
    assert first["status_notes"] == "Đã đóng. Đã sửa xong."
    assert first["agency_responsible"] == closed.agency.name
    assert first["service_code"] == "giao-thong"
    assert first["requested_datetime"].endswith("+07:00")
    other = georeport.get_service_request(open_one.code)
    assert other["status"] == "open"
    assert other["status_notes"] == "Đã chuyển xử lý"
    xml = GeoReport(server, jurisdiction="daklak", output_format="xml")
    request_xml = xml.get_service_request(open_one.code)
    assert request_xml["service_request_id"] == open_one.code


def test_request_filters(georeport, server):
    """Test the status, service_code, date, id and paging filters."""
    open_one, closed = _tickets()
    assert [i["service_request_id"] for i in georeport.get_service_requests(status="open")] == [
        open_one.code
    ]
    assert [
        i["service_request_id"] for i in georeport.get_service_requests(service_code="giao-thong")
    ] == [closed.code]
    since = (utcnow() - timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [i["service_request_id"] for i in georeport.get_service_requests(start_date=since)] == [
        closed.code
    ]
    both = georeport.get_service_requests(service_request_id=f"{open_one.code},{closed.code}")
    assert {i["service_request_id"] for i in both} == {open_one.code, closed.code}
    page2 = requests.get(f"{server}/requests.json", params={"page": 2, "page_size": 1}, timeout=5)
    assert [i["service_request_id"] for i in page2.json()] == [open_one.code]


BAD_PARAMETERS = [
    ({"start_date": "yesterday"}, 400),
    ({"start_date": "2026-01-01T00:00:00"}, 400),  # no timezone
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, 400),
    ({"status": "pending"}, 400),
    ({"page_size": "0"}, 400),
    ({"jurisdiction_id": "hanoi"}, 404),
]


def test_bad_request_parameters_are_error_lists(server):
    """Test that bad parameters answer the spec's error list with 400/404, JSON and XML."""
    for params, status in BAD_PARAMETERS:
        response = requests.get(f"{server}/requests.json", params=params, timeout=5)
        assert response.status_code == status, params
        validate(response.json(), schemas.ERRORS)
        assert response.json()[0]["code"] == status
        xml = requests.get(f"{server}/requests.xml", params=params, timeout=5)
        assert xml.status_code == status
        root = ET.fromstring(xml.content)
        assert root.tag == "errors"
        assert root.find("error/code").text == str(status)


def test_unknown_request_and_service_are_404(server):
    """Test that unknown ids and service codes answer 404 error lists."""
    for path in ("/requests/2612345670.json", "/services/khong-co.json", "/tokens/abc.json"):
        response = requests.get(server + path, timeout=5)
        assert response.status_code == 404, path
        validate(response.json(), schemas.ERRORS)


def test_post_request_creates_a_ticket_and_token(server, api_key, redis_conn):
    """Test POST requests with api_key: id and token back, ticket stored, token resolvable."""
    form = {
        "api_key": api_key,
        "jurisdiction_id": "daklak",
        "service_code": "moi-truong",
        "lat": "12.6667",
        "long": "108.0500",
        "attribute[commune]": "phuong-tan-lap",
        "description": "Bãi rác tự phát bốc mùi",
        "first_name": "Lan",
        "last_name": "Hồ",
        "phone": "0912345678",
        "media_url": "https://example.org/photo.jpg",
    }
    response = requests.post(f"{server}/requests.json", data=form, timeout=5)
    assert response.status_code == 200
    validate(response.json(), schemas.POST_RESPONSE)
    (created,) = response.json()
    ticket = only_ticket()
    assert created["service_request_id"] == ticket.code
    assert (ticket.channel, ticket.category.code, ticket.commune.code) == (
        "open311",
        "moi-truong",
        "phuong-tan-lap",
    )
    assert ticket.phone == "+84912345678"
    assert ticket.citizen_name == "Lan Hồ"
    tokens = requests.get(f"{server}/tokens/{created['token']}.json", timeout=5).json()
    validate(tokens, schemas.TOKENS)
    assert tokens == [{"service_request_id": ticket.code, "token": created["token"]}]
    # The public listing never shows the citizen's words or contacts.
    listed = requests.get(f"{server}/requests/{ticket.code}.json", timeout=5).json()[0]
    assert listed["description"] == ""
    assert "0912345678" not in str(listed) and "Lan" not in str(listed)


def test_post_request_xml_answer(server, api_key):
    """Test that POST requests.xml answers the service_requests XML document."""
    form = {
        "api_key": api_key,
        "service_code": "dien",
        "address_string": "Thôn 3, xã Ea Kao",
        "description": "Cột điện nghiêng sắp đổ",
    }
    response = requests.post(f"{server}/requests.xml", data=form, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(XML_DECLARATION)
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id").text == only_ticket().code


BAD_POSTS = [
    ({"api_key": ""}, 403),
    ({"api_key": "hk_wrong"}, 403),
    ({"service_code": ""}, 400),
    ({"service_code": "khong-co"}, 400),
    ({"lat": "", "long": "", "address_string": ""}, 400),
    ({"lat": "abc"}, 400),
    ({"long": ""}, 400),
    ({"attribute[commune]": "xa-khong-co"}, 400),
    ({"description": ""}, 400),
    ({"phone": "12"}, 400),
]


def test_post_request_errors(server, api_key):
    """Test that bad POSTs answer 400/403 error lists and store nothing."""
    for change, status in BAD_POSTS:
        form = {
            "api_key": api_key,
            "service_code": "dien",
            "lat": "12.7",
            "long": "108.1",
            "address_string": "",
            "description": "Mất điện",
            **change,
        }
        response = requests.post(f"{server}/requests.json", data=form, timeout=5)
        assert response.status_code == status, change
        validate(response.json(), schemas.ERRORS)
    assert ticket_count() == 0


def test_post_retry_with_idempotency_key_makes_one_request(server, api_key):
    """Test that a POST retried with the same Idempotency-Key gives the same request and token."""
    form = {
        "api_key": api_key,
        "service_code": "dien",
        "address_string": "Thôn 2",
        "description": "Dây điện võng thấp",
    }
    headers = {"Idempotency-Key": "app-retry-7"}
    first = requests.post(f"{server}/requests.json", data=form, headers=headers, timeout=5)
    again = requests.post(f"{server}/requests.json", data=form, headers=headers, timeout=5)
    assert first.json() == again.json()
    assert ticket_count() == 1
