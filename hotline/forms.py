"""What the forms of every blueprint share."""

from __future__ import annotations

from wtforms import Field


def add_error(field: Field, message: str) -> None:
    """Show MESSAGE under FIELD: a check the view made after the form's own validators.

    WTForms declares `errors` as a read-only sequence (it is a list only once the form has been
    validated), so the list is replaced rather than appended to.
    """
    field.errors = [*field.errors, message]
