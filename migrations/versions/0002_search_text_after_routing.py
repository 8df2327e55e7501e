"""search text written by a ticket's first update; trigram indexes skip tickets without it

A new ticket is stored with search_text NULL and the routing job's update writes it
(`hotline.models.ticket.new_ticket_row`): the column becomes nullable and both trigram
indexes leave NULL rows out. Rebuilding the two GIN indexes reads the whole tickets table
and blocks writes to it meanwhile: run it in a quiet hour on a big database.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:00:00

"""

import sqlalchemy as sa
from alembic import op

from hotline.models.ticket import SEARCHED_FIELDS, ticket_search_text

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TRGM = {"postgresql_using": "gin", "postgresql_ops": {"search_text": "gin_trgm_ops"}}
_NOT_CLOSED = "status <> 'closed'"


def _trigram_indexes(batch_op, indexed: str | None) -> None:
    """Create the two trigram indexes, limited to rows matching INDEXED (if any)."""
    everything = {"postgresql_where": sa.text(indexed)} if indexed else {}
    open_only = f"{_NOT_CLOSED} AND {indexed}" if indexed else _NOT_CLOSED
    batch_op.create_index("ix_tickets_search_trgm", ["search_text"], **_TRGM, **everything)
    batch_op.create_index(
        "ix_tickets_search_open_trgm",
        ["search_text"],
        **_TRGM,
        postgresql_where=sa.text(open_only),
        sqlite_where=sa.text(_NOT_CLOSED),
    )


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_search_open_trgm")
        batch_op.drop_index("ix_tickets_search_trgm")
        batch_op.alter_column("search_text", existing_type=sa.Text(), nullable=True)
        _trigram_indexes(batch_op, "search_text IS NOT NULL")


def downgrade():
    # The tickets not routed yet get the search text their first update would have written.
    tickets = sa.table(
        "tickets",
        *(sa.column(name) for name in ("id", "search_text", *SEARCHED_FIELDS)),
    )
    connection = op.get_bind()
    unwritten = connection.execute(
        sa.select(tickets).where(tickets.c.search_text.is_(None))
    ).mappings()
    for row in list(unwritten):
        connection.execute(
            tickets.update()
            .where(tickets.c.id == row["id"])
            .values(search_text=ticket_search_text(*(row[f] for f in SEARCHED_FIELDS)))
        )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_search_open_trgm")
        batch_op.drop_index("ix_tickets_search_trgm")
        batch_op.alter_column("search_text", existing_type=sa.Text(), nullable=False)
        _trigram_indexes(batch_op, None)
