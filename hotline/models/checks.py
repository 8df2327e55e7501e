"""CHECK constraints that keep a column to the values the code knows.

The application validates these values before writing, but a row written by hand, by a
script or by a future bug must not carry a status, channel or role that no code path
understands (a ticket in such a state would vanish from every queue).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import CheckConstraint

__all__ = ["one_of"]


def one_of(column: str, values: Sequence[str]) -> CheckConstraint:
    """Return a CHECK that COLUMN holds one of VALUES, named ``ck_<table>_<column>``.

    The name comes from the metadata's naming convention, so a migration can create and
    drop it under the same name on SQLite and PostgreSQL.
    """
    listed = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)
