"""every ticket has its search text from the moment it is stored

A new ticket's search text is written with the ticket again (`hotline.tickets.creation`),
so it is found by its words at once: the tickets stored without it under 0002 get it, the
column is required again, and the two trigram indexes cover every row. Rebuilding the GIN
indexes reads the whole tickets table and blocks writes to it meanwhile: run it in a quiet
hour on a big database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 00:00:00

"""

import sqlalchemy as sa
from alembic import op

from hotline.models.ticket import SEARCHED_FIELDS, ticket_search_text

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TRGM = {"postgresql_using": "gin", "postgresql_ops": {"search_text": "gin_trgm_ops"}}
_NOT_CLOSED = "status <> 'closed'"
_WRITTEN = "search_text IS NOT NULL"


def _write_missing_search_texts() -> None:
    tickets = sa.table(
        "tickets", *(sa.column(name) for name in ("id", "search_text", *SEARCHED_FIELDS))
    )
    connection = op.get_bind()
    missing = connection.execute(
        sa.select(tickets).where(tickets.c.search_text.is_(None))
    ).mappings()
    for row in list(missing):
        connection.execute(
            tickets.update()
            .where(tickets.c.id == row["id"])
            .values(search_text=ticket_search_text(*(row[f] for f in SEARCHED_FIELDS)))
        )


def _trigram_indexes(batch_op, condition: str | None) -> None:
    """(Re)create the two trigram indexes, the PostgreSQL ones limited by CONDITION."""
    everything = {"postgresql_where": sa.text(condition)} if condition else {}
    open_only = f"{_NOT_CLOSED} AND {condition}" if condition else _NOT_CLOSED
    batch_op.drop_index("ix_tickets_search_open_trgm")
    batch_op.drop_index("ix_tickets_search_trgm")
    batch_op.create_index("ix_tickets_search_trgm", ["search_text"], **_TRGM, **everything)
    batch_op.create_index(
        "ix_tickets_search_open_trgm",
        ["search_text"],
        **_TRGM,
        postgresql_where=sa.text(open_only),
        sqlite_where=sa.text(_NOT_CLOSED),
    )


def upgrade():
    _write_missing_search_texts()
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("search_text", existing_type=sa.Text(), nullable=False)
        _trigram_indexes(batch_op, None)


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("search_text", existing_type=sa.Text(), nullable=True)
        _trigram_indexes(batch_op, _WRITTEN)
