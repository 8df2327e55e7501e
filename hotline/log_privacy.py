"""The last line of defence against personal data in the logs: every field of every JSON log
line is scrubbed before it is written.

The app's own messages carry ids, never a phone, a name or an email. What it does not write
itself can: PostgreSQL's error details quote the row or key that failed ("Failing row
contains (..., Nguyễn Văn An, +84912345678, ...)", "Key (email)=(...)"), and a provider's
error may quote the number it refused. Such text reaches the logs inside tracebacks (a failed
job, an unhandled error during a database outage). The engine hides statement parameters
(`hide_parameters`); this formatter hides the rest: the values in PostgreSQL's details,
email addresses, and Vietnamese (0..., 84..., +84...) and international (+...) numbers.
"""

from __future__ import annotations

import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_FAILING_ROW = re.compile(r"(Failing row contains )\(.*?\)(\.?)(?=\n|$)", re.S | re.M)
_KEY_VALUES = re.compile(r"(Key \([^)]*\))=\((?:[^()]|\([^()]*\))*\)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Vietnamese numbers as typed or stored (0912 345 678, 84912345678, +84 912.345.678), and
# any +international number; not the 10-digit ticket codes, which start with the year.
_PHONE = re.compile(r"(?<![\w+])(?:\+|\+?84|0)(?:[ .]?\d){8,14}(?![\w])")


def scrub(text: str) -> str:
    """Return TEXT with quoted rows and keys, emails and phone numbers replaced."""
    if not text:
        return text
    text = _FAILING_ROW.sub(r"\1(…)\2", text)
    text = _KEY_VALUES.sub(r"\1=(…)", text)
    text = _EMAIL.sub("<email>", text)
    return _PHONE.sub("<phone>", text)


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


class PrivateJsonFormatter(JsonFormatter):
    """The JSON formatter, with every field scrubbed of personal data."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Scrub every field (message, exception, extras) of the record about to be written."""
        return {key: _scrub_value(value) for key, value in log_data.items()}
