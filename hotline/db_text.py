"""Text the database cannot take: NUL characters and lone surrogates, cleaned on the way in.

PostgreSQL refuses a NUL (U+0000) in any text value, and no database driver can encode a
lone UTF-16 surrogate (which a JSON body may carry as "\\ud800") into UTF-8. Either turned
a citizen's report, or a lookup by a posted code, into a 500. Neither has a meaning in a
report, and refusing the message would lose it (a carrier's badly converted SMS may carry
a NUL where GSM's "@" was meant), so every statement's string parameters are cleaned here,
in one place, for every query of every channel: NUL dropped, lone surrogates replaced by
U+FFFD. Strings that need nothing (the immense majority) cost one `in` test and one
`isascii()` or `encode()`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Return VALUE without NUL characters and with lone surrogates replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        value = _SURROGATE.sub("\ufffd", value)
    return value


def _needs_cleaning(value: Any) -> bool:
    if type(value) is not str:
        return False
    if "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _row_needs_cleaning(row: Any) -> bool:
    if isinstance(row, dict):
        return any(_needs_cleaning(v) for v in row.values())
    if isinstance(row, list | tuple):
        return any(_needs_cleaning(v) for v in row)
    return False


def _clean_row(row: Any) -> Any:
    if isinstance(row, dict):
        return {k: clean_text(v) if type(v) is str else v for k, v in row.items()}
    return type(row)(clean_text(v) if type(v) is str else v for v in row)


def _before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
    if not parameters:
        return statement, parameters
    if executemany:
        if any(_row_needs_cleaning(row) for row in parameters):
            parameters = [
                _clean_row(row) if _row_needs_cleaning(row) else row for row in parameters
            ]
        return statement, parameters
    if _row_needs_cleaning(parameters):
        parameters = _clean_row(parameters)
    return statement, parameters


def install_text_guard() -> None:
    """Clean the string parameters of every statement of every engine (idempotent)."""
    if not event.contains(Engine, "before_cursor_execute", _before_cursor_execute):
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute, retval=True)
