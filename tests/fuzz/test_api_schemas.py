"""Schemathesis against /api/v1/openapi.json and /open311/v2/openapi.json: no 5xx, as documented.

A bounded run in the suite (SCHEMATHESIS_MAX_EXAMPLES per operation and mode, default 6,
derandomized); `SCHEMATHESIS_MAX_EXAMPLES=40` gives more than 1,000 cases, and
`bench/fuzz_api.py` prints the counts of a long run.
"""

from __future__ import annotations

import os

from tests.fuzz.schema_fuzz import FuzzContext, fuzz_app, seed_records
from tests.intake.conftest import BASE

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6"))
OPERATIONS = 16  # 2 of the JSON API, 7 of Open311 twice (JSON and XML)


def test_openapi_documents_hold_under_generated_requests(app, client, api_key):
    """Test that schema-valid and schema-invalid requests to every documented operation get
    no 5xx and a documented status, media type and body."""
    context = FuzzContext(api_key=api_key, known=seed_records(client, api_key))
    report = fuzz_app(
        app,
        context,
        max_examples=MAX_EXAMPLES,
        derandomize="SCHEMATHESIS_MAX_EXAMPLES" not in os.environ,
    )
    assert not report.failures, "\n\n".join(report.failures)
    assert len({label.rsplit(" [", 1)[0] for label in report.cases}) == OPERATIONS
    assert report.total >= OPERATIONS * MAX_EXAMPLES
    assert not any(status >= 500 for status in report.statuses)
    # Both outcomes are reached: created and read (2xx), and refused (4xx).
    assert any(200 <= s < 300 for s in report.statuses)
    assert any(400 <= s < 500 for s in report.statuses)


def test_open311_description_is_served_and_lists_live_codes(client):
    """Test that the Open311 OpenAPI document is served, names both formats of every route,
    and lists the active service codes and the jurisdictions."""
    spec = client.get("/open311/v2/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"] == [{"url": BASE + "/open311/v2"}]
    for route in ("discovery", "services", "requests"):
        assert f"/{route}.json" in spec["paths"] and f"/{route}.xml" in spec["paths"]
    post = spec["paths"]["/requests.xml"]["post"]
    assert "text/xml" in post["responses"]["400"]["content"]
    assert post["responses"]["400"]["content"]["text/xml"]["schema"]["xml"]["name"] == "errors"
    form = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert "giao-thong" in form["properties"]["service_code"]["enum"]
    assert set(form["properties"]["jurisdiction_id"]["enum"]) == {"daklak", "hotline.test"}
