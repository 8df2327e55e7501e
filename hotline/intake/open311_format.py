"""Open311 GeoReport v2 rendering: the same documents as JSON or as UTF-8 XML."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET

from flask import Response

from hotline.timeutil import to_local

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

# The XML element that wraps a list, and the name of each item in it.
LIST_ELEMENTS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def w3c_datetime(value) -> str:
    """Return VALUE in the W3C profile of ISO 8601 with the province's offset ("+07:00")."""
    local = to_local(value)
    return local.isoformat(timespec="seconds") if local else ""


# Characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab, CR and LF;
# lone surrogates; U+FFFE and U+FFFF): an error echoing a posted id must stay well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        child_name = LIST_ELEMENTS.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, child_name), item)
    else:
        element.text = _scalar(value)


def to_xml(root: str, value: Any) -> bytes:
    """Return VALUE as an XML document whose root element is ROOT, with the UTF-8 declaration."""
    element = ET.Element(root)
    _fill(element, value)
    # The spec asks for this exact declaration (ElementTree would write encoding='utf-8').
    body = ET.tostring(element, encoding="unicode", short_empty_elements=False)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


def render(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    """Answer VALUE in FMT ("json" or "xml"); ROOT names the XML root element."""
    if fmt == "xml":
        return Response(to_xml(root, value), status=status, content_type=XML_TYPE)
    body = json.dumps(value, ensure_ascii=False)
    return Response(body.encode("utf-8"), status=status, content_type=JSON_TYPE)


def render_errors(fmt: str, status: int, descriptions: Sequence[str]) -> Response:
    """Answer the GeoReport error list: `[{"code": status, "description": ...}, ...]`."""
    errors = [{"code": status, "description": description} for description in descriptions]
    return render(fmt, "errors", errors, status)
