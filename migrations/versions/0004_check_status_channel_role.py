"""CHECK constraints: a ticket's status and channel, a user's role, from the known values

The application only writes these values, but nothing in the database refused another
one: a row written by hand or by a script with a misspelt status would drop out of every
queue. The values are those of `hotline.models` when this revision was written, copied
here so that the migration does not change when the models do; a later revision that adds
a value drops and recreates the constraint. On SQLite the tables are rebuilt (batch mode).
Upgrading fails on a database that already holds another value: fix those rows first.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 00:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TICKET_STATUSES = (
    "received",
    "triage",
    "assigned",
    "acknowledged",
    "waiting_citizen",
    "transfer_requested",
    "resolved",
    "closed",
)
TICKET_CHANNELS = ("voice", "sms", "web", "api", "open311", "operator")
USER_ROLES = ("operator", "agent", "agency_head", "supervisor", "admin")

# (table, column, allowed values); the names follow the metadata's "ck" naming convention.
CHECKS = (
    ("tickets", "status", TICKET_STATUSES),
    ("tickets", "channel", TICKET_CHANNELS),
    ("users", "role", USER_ROLES),
)


def _condition(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join("'" + value + "'" for value in values)
    return f"{column} IN ({listed})"


def upgrade():
    for table in ("tickets", "users"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, values in (c for c in CHECKS if c[0] == table):
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), _condition(column, values)
                )


def downgrade():
    for table in ("users", "tickets"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, _values in (c for c in CHECKS if c[0] == table):
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
