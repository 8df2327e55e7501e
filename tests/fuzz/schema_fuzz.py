"""Schemathesis over the app's OpenAPI documents, in process: counts every case and status.

Shared by `tests/fuzz/test_api_schemas.py` (a bounded run in the suite) and
`bench/fuzz_api.py` (a long run by hand). Each operation is run in both generation modes
(schema-valid and schema-invalid input) as its own Hypothesis test; the checks are: no 5xx,
a documented status, a documented media type, a body that matches the documented schema
(JSON) or the documented root element (XML).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hotline.extensions import db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
DOCUMENTS = ("/api/v1/openapi.json", "/open311/v2/openapi.json")
# Path parameters that name something the caller may have created: sometimes use a real one.
KNOWN_PARAMETERS = ("code", "service_request_id", "token")


@dataclass
class FuzzReport:
    """What a run did: cases per operation and mode, statuses seen, failures found."""

    cases: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every case sent."""
        return sum(self.cases.values())


@dataclass
class FuzzContext:
    """What the cases need to get past authentication and reach real records."""

    api_key: str
    known: dict[str, list[str]] = field(default_factory=dict)


def _xml_root(case) -> str | None:
    """The root element the response of CASE's operation must have, or None for JSON."""
    path = case.operation.path
    if not path.endswith(".xml"):
        return None
    if path.startswith("/discovery"):
        return "discovery"
    if path.startswith("/services/"):
        return "service_definition"
    if path.startswith("/services"):
        return "services"
    return "service_requests"


def check_xml(case, response) -> None:
    """Assert that an XML answer parses and has the documented root element."""
    expected = _xml_root(case)
    if expected is None:
        return
    root = ET.fromstring(response.content)
    wanted = "errors" if response.status_code >= 400 else expected
    assert root.tag == wanted, f"{case.operation.label}: root <{root.tag}>, expected <{wanted}>"


def _has_input(operation) -> bool:
    return bool(list(operation.iter_parameters())) or len(operation.body) > 0


def _prepare(case, context: FuzzContext, data) -> None:
    """Authenticate CASE, and sometimes point its path at a record that exists."""
    if case.operation.path.startswith("/tickets"):
        case.headers = {**(case.headers or {}), "X-API-Key": context.api_key}
    if isinstance(case.body, dict) and "api_key" in case.body:
        case.body["api_key"] = context.api_key
    for name in KNOWN_PARAMETERS:
        known = context.known.get(name)
        if known and name in (case.path_parameters or {}) and data.draw(st.booleans()):
            case.path_parameters[name] = data.draw(st.sampled_from(known))


def fuzz_operation(
    operation,
    mode: GenerationMode,
    context: FuzzContext,
    report: FuzzReport,
    *,
    max_examples: int,
    derandomize: bool,
) -> None:
    """Run one operation in one generation mode; add its counts and failure to REPORT."""
    label = f"{operation.label} [{mode.value}]"

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        # No shrinking: the failure message carries a curl command that replays the case.
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case, data):
        _prepare(case, context, data)
        try:
            response = case.call()
        finally:
            # Each request has its own session in production; here the test's app context
            # is shared, so drop the session as the request teardown would.
            db.session.remove()
        report.cases[label] += 1
        report.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)
        check_xml(case, response)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: B902 (schemathesis raises groups)
        report.failures.append(f"{label}: {exc}")


def seed_records(client, api_key: str) -> dict[str, list[str]]:
    """Create tickets through both APIs so that reads can hit real records."""
    codes, request_ids, tokens = [], [], []
    for n in range(2):
        response = client.post(
            "/api/v1/tickets",
            json={"description": f"Đèn đường hỏng số {n} trên đường Lê Duẩn"},
            headers={"X-API-Key": api_key},
        )
        assert response.status_code == 201, response.data
        codes.append(response.get_json()["code"])
        response = client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": api_key,
                "service_code": "giao-thong",
                "address_string": "Số 12 đường Lê Duẩn",
                "description": f"Ổ gà lớn giữa đường, lần {n}",
            },
        )
        assert response.status_code == 200, response.data
        created = response.get_json()[0]
        request_ids.append(created["service_request_id"])
        tokens.append(created["token"])
    return {"code": codes, "service_request_id": request_ids + codes, "token": tokens}


def fuzz_app(
    app,
    context: FuzzContext,
    *,
    max_examples: int,
    derandomize: bool = True,
    select: Callable[[str], bool] = lambda label: True,
) -> FuzzReport:
    """Fuzz every operation of both documents of APP; return the report."""
    report = FuzzReport()
    for document in DOCUMENTS:
        schema = schemathesis.openapi.from_wsgi(document, app)
        for result in schema.get_all_operations():
            operation = result.ok()
            if not select(operation.label):
                continue
            for mode in GenerationMode:
                if mode.is_negative and not _has_input(operation):
                    continue  # nothing to make invalid
                fuzz_operation(
                    operation,
                    mode,
                    context,
                    report,
                    max_examples=max_examples,
                    derandomize=derandomize,
                )
    return report
