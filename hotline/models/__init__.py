"""All models, imported here so metadata and Alembic see every table."""

from hotline.models.agency import AGENCY_KINDS, Agency, Commune
from hotline.models.audit import AuditEntry
from hotline.models.calendar import CalendarDay
from hotline.models.category import (
    PRIORITIES,
    SCOPES,
    AreaAgency,
    Category,
    RoutingKeyword,
    SlaPolicy,
)
from hotline.models.outbox import EscalationStep, OutboxMessage
from hotline.models.ticket import (
    AGENCY_STATUSES,
    CHANNELS,
    CLOSE_REASONS,
    OPEN_STATUSES,
    SLA_STATES,
    STATUSES,
    Attachment,
    InboundMessage,
    Ticket,
    TicketEvent,
)
from hotline.models.user import AGENCY_ROLES, ROLES, ApiKey, User

__all__ = [
    "AGENCY_KINDS",
    "AGENCY_ROLES",
    "AGENCY_STATUSES",
    "CHANNELS",
    "CLOSE_REASONS",
    "OPEN_STATUSES",
    "PRIORITIES",
    "ROLES",
    "SCOPES",
    "SLA_STATES",
    "STATUSES",
    "Agency",
    "ApiKey",
    "AreaAgency",
    "Attachment",
    "AuditEntry",
    "CalendarDay",
    "Category",
    "Commune",
    "EscalationStep",
    "InboundMessage",
    "OutboxMessage",
    "RoutingKeyword",
    "SlaPolicy",
    "Ticket",
    "TicketEvent",
    "User",
]
