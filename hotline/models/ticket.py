"""The ticket aggregate: the ticket, its events, attachments and inbound messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.extensions import Model
from hotline.models.agency import Agency, Commune
from hotline.models.category import Category
from hotline.models.checks import one_of
from hotline.models.types import UTCDateTime
from hotline.models.user import User
from hotline.text import fold
from hotline.timeutil import utcnow

CHANNELS = ("voice", "sms", "web", "api", "open311", "operator")
STATUSES = (
    "received",
    "triage",
    "assigned",
    "acknowledged",
    "waiting_citizen",
    "transfer_requested",
    "resolved",
    "closed",
)
OPEN_STATUSES = STATUSES[:-1]
# States in which an agency owns the ticket and its clocks matter.
AGENCY_STATUSES = ("assigned", "acknowledged", "waiting_citizen", "transfer_requested")
SLA_STATES = ("on_track", "at_risk", "breached", "met")
CLOSE_REASONS = ("answered", "spam", "duplicate", "out_of_scope")

_open_sql = "status IN ('assigned','acknowledged','waiting_citizen','transfer_requested')"
_not_closed_sql = "status <> 'closed'"
_running_sql = "due_at IS NOT NULL"
_undated_sql = "due_at IS NULL AND status <> 'closed'"
# What the staff queues filter on, kept in their indexes (see Ticket.__table_args__).
QUEUE_FILTER_COLUMNS = [
    "agency_id",
    "status",
    "category_id",
    "commune_id",
    "channel",
    "created_at",
    "acknowledged_at",
    "acknowledge_state",
    "resolve_state",
]


class Ticket(Model):
    """A citizen's report and everything the province does with it."""

    __tablename__ = "tickets"
    __table_args__ = (
        # An agency's open tickets by deadline: the queue every agent works from.
        Index(
            "ix_tickets_agency_open_due",
            "agency_id",
            "resolve_due_at",
            "id",
            postgresql_where=text(_open_sql),
            sqlite_where=text(_open_sql),
        ),
        # The SLA sweep reads only tickets whose next check is due.
        Index(
            "ix_tickets_next_sla_check",
            "next_sla_check_at",
            postgresql_where=text("next_sla_check_at IS NOT NULL"),
            sqlite_where=text("next_sla_check_at IS NOT NULL"),
        ),
        Index("ix_tickets_status_created", "status", "created_at"),
        # Time ranges (intake per day and channel on the dashboard: index-only).
        Index("ix_tickets_created", "created_at", postgresql_include=["channel", "agency_id"]),
        # Staff queues, per agency and for everyone: open tickets with a running deadline in
        # deadline order, and the others (new, triage, answered) by id. The filter columns are
        # included, so a page is found by an index-only scan whatever the filters.
        Index(
            "ix_tickets_queue_agency_due",
            "agency_id",
            "due_at",
            "id",
            postgresql_where=text(_running_sql),
            sqlite_where=text(_running_sql),
            postgresql_include=[c for c in QUEUE_FILTER_COLUMNS if c != "agency_id"],
        ),
        Index(
            "ix_tickets_queue_due",
            "due_at",
            "id",
            postgresql_where=text(_running_sql),
            sqlite_where=text(_running_sql),
            postgresql_include=QUEUE_FILTER_COLUMNS,
        ),
        Index(
            "ix_tickets_queue_agency_undated",
            "agency_id",
            "id",
            postgresql_where=text(_undated_sql),
            sqlite_where=text(_undated_sql),
            postgresql_include=[c for c in QUEUE_FILTER_COLUMNS if c != "agency_id"],
        ),
        Index(
            "ix_tickets_queue_undated",
            "id",
            postgresql_where=text(_undated_sql),
            sqlite_where=text(_undated_sql),
            postgresql_include=QUEUE_FILTER_COLUMNS,
        ),
        # Staff lists newest first (closed tickets, "all"), per agency.
        Index("ix_tickets_agency_id_id", "agency_id", "id"),
        # Dashboard: answers given in a period (on-time rate, time to resolve), index-only.
        Index(
            "ix_tickets_resolved_at",
            "resolved_at",
            postgresql_include=["agency_id", "resolve_state", "resolve_working_minutes"],
        ),
        # Search with or without diacritics: LIKE '%word%' on the folded text, by trigrams
        # on PostgreSQL (the extension is created with the table, see below).
        Index(
            "ix_tickets_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        # The same for open tickets only: searching the queues stays small and fast.
        Index(
            "ix_tickets_search_open_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_where=text(_not_closed_sql),
            sqlite_where=text(_not_closed_sql),
        ),
        # The duplicates merged into a ticket, listed on its page.
        Index(
            "ix_tickets_duplicate_of",
            "duplicate_of_id",
            postgresql_where=text("duplicate_of_id IS NOT NULL"),
            sqlite_where=text("duplicate_of_id IS NOT NULL"),
        ),
        # Public answers, newest first.
        Index(
            "ix_tickets_published_closed",
            "closed_at",
            postgresql_where=text("answer_published"),
            sqlite_where=text("answer_published = 1"),
        ),
        # Only the states and channels the code knows (migration 0003).
        one_of("status", STATUSES),
        one_of("channel", CHANNELS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="received")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("communes.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    address: Mapped[str] = mapped_column(String(500), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    citizen_name: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(255))
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(5), default="vi")

    # SLA: one cycle per responsible agency; deadlines in working time.
    sla_cycle: Mapped[int] = mapped_column(Integer, default=0)
    sla_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledge_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledge_state: Mapped[str | None] = mapped_column(String(10))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_state: Mapped[str | None] = mapped_column(String(10))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_sla_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    public_answer: Mapped[str] = mapped_column(Text, default="")
    answer_published: Mapped[bool] = mapped_column(Boolean, default=False)
    close_reason: Mapped[str | None] = mapped_column(String(20))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # The agency a transfer request proposes, if the agent named one.
    transfer_to_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    # The state to return to when a supervisor refuses a transfer.
    status_before_transfer: Mapped[str | None] = mapped_column(String(20))
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    # Derived on every write (see `_derive_fields`): the folded text searched with or without
    # diacritics, and the nearest running deadline that orders the staff queues.
    search_text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Working minutes from the agency's assignment to its answer (dashboard medians).
    resolve_working_minutes: Mapped[int | None] = mapped_column(Integer)

    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[Category | None] = relationship(lazy="joined")
    commune: Mapped[Commune | None] = relationship(lazy="joined")
    agency: Mapped[Agency | None] = relationship(foreign_keys=[agency_id], lazy="joined")
    transfer_to_agency: Mapped[Agency | None] = relationship(foreign_keys=[transfer_to_agency_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    duplicate_of: Mapped[Ticket | None] = relationship(remote_side=[id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", lazy="select"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="ticket", order_by="Attachment.id", lazy="select"
    )

    # Every UPDATE checks and bumps the version, so two writers cannot both win.
    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        """Whether the ticket still needs work."""
        return self.status != "closed"

    def __repr__(self) -> str:
        return f"<Ticket {self.code} {self.status}>"


class TicketEvent(Model):
    """One append-only entry of a ticket's history."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Who acted when no user did: "citizen", "system", "routing", "sla".
    actor_label: Mapped[str] = mapped_column(String(30), default="system")
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Shown on the public tracking page (status changes, never internal notes).
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    @staticmethod
    def row(
        ticket_id: int,
        kind: str,
        actor: User | None = None,
        *,
        actor_label: str = "system",
        from_status: str | None = None,
        to_status: str | None = None,
        note: str = "",
        data: dict[str, Any] | None = None,
        public: bool = False,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Return the columns of one history entry, for a Core INSERT of one or many.

        The one builder of events: the lifecycle's transitions, a new ticket's "created"
        entry and the SLA escalations all write their rows through it. A user acting is
        labelled "staff"; otherwise ACTOR_LABEL says who acted ("citizen", "routing"...).
        """
        return {
            "ticket_id": ticket_id,
            "kind": kind,
            "actor_id": actor.id if actor else None,
            "actor_label": "staff" if actor else actor_label,
            "from_status": from_status,
            "to_status": to_status,
            "note": note,
            "data": data or {},
            "public": public,
            "created_at": now or utcnow(),
        }


class Attachment(Model):
    """A photo, MMS medium or call recording kept with a ticket."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # photo | mms | recording
    storage_key: Mapped[str | None] = mapped_column(String(255))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")


class InboundMessage(Model):
    """A webhook delivery, keyed by channel and provider id: the dedupe key of every webhook."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(120))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="report")
    reply: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket | None] = relationship()


SEARCHED_FIELDS = ("code", "address", "description", "public_answer")
DERIVED_FROM = (
    "status",
    "acknowledged_at",
    "acknowledge_due_at",
    "resolve_due_at",
    *SEARCHED_FIELDS,
)


def ticket_search_text(*parts: str | None) -> str:
    """Return the searchable form of a ticket's texts: folded, without diacritics.

    Framed by spaces, so a search can also ask for whole words ("% xe %"), which short
    Vietnamese syllables need.
    """
    return f" {fold(' '.join(p for p in parts if p))} "


def derived_columns(values: Mapping[str, Any], *, search: bool = True) -> dict[str, Any]:
    """Return the columns derived from a ticket's others (VALUES: column name -> value).

    `due_at`, the earliest running deadline, orders the staff queues; `search_text` (when
    SEARCH) is the folded text searched with or without diacritics. The ORM's hooks below
    and `hotline.tickets.creation`'s INSERT of a new ticket both take them from here.
    """
    derived: dict[str, Any] = {"due_at": None}
    if values.get("status") in AGENCY_STATUSES:
        acknowledge_due_at = values.get("acknowledge_due_at")
        if values.get("acknowledged_at") is None and acknowledge_due_at is not None:
            derived["due_at"] = acknowledge_due_at
        else:
            derived["due_at"] = values.get("resolve_due_at")
    if search:
        derived["search_text"] = ticket_search_text(*(values.get(f) for f in SEARCHED_FIELDS))
    return derived


def _derive_fields(ticket: Ticket, inserting: bool) -> None:
    """Fill in the derived columns of a ticket the ORM writes (see `derived_columns`)."""
    state = inspect(ticket)
    search = inserting or any(state.attrs[f].history.has_changes() for f in SEARCHED_FIELDS)
    values = {key: getattr(ticket, key) for key in DERIVED_FROM}
    for key, value in derived_columns(values, search=search).items():
        setattr(ticket, key, value)


@event.listens_for(Ticket, "before_insert")
def _before_insert(mapper, connection, ticket: Ticket) -> None:
    _derive_fields(ticket, inserting=True)


@event.listens_for(Ticket, "before_update")
def _before_update(mapper, connection, ticket: Ticket) -> None:
    _derive_fields(ticket, inserting=False)


@event.listens_for(Table, "before_create")
def _create_trigram_extension(table: Table, connection, **kw) -> None:
    """On PostgreSQL, make pg_trgm available before the tickets table and its search index.

    A class-level listener, so it fires for `create_all` and for Alembic's `create_table`
    alike. pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    """
    if table.name != "tickets" or connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
