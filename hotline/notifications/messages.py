"""The messages the lifecycle sends, written to the outbox in the caller's transaction.

Each function is called by a ticket service before its commit, so a message exists exactly
when the change that causes it does. Keys make a repeated call harmless.
"""

from __future__ import annotations

from datetime import datetime

from hotline.extensions import db
from hotline.models import Agency, Category, Commune, Ticket
from hotline.notifications.links import rating_url, staff_ticket_url, tracking_url
from hotline.notifications.outbox import message_row, notify_citizen, queue_messages
from hotline.phones import can_receive_sms
from hotline.timeutil import to_local, utcnow

# Channels whose own reply already gave the citizen the code (the SMS reply carries it, the
# web form shows it); the others get it by SMS. A caller hears the code read out, and gets
# it by SMS as well (SPEC §4): a code heard once on the phone is easily lost.
CHANNELS_REPLYING_WITH_CODE = frozenset({"sms", "web"})
# How much of the citizen's question goes into the SMS (the SMS must stay short).
QUESTION_SMS_CHARS = 120
CLOSE_REASON_LABELS = {
    "spam": "tin rác",
    "duplicate": "trùng phiếu khác",
    "out_of_scope": "không thuộc phạm vi tiếp nhận",
    "answered": "đã trả lời",
}


def local_text(value: datetime | None) -> str:
    """Return VALUE as the province's local "dd/mm/YYYY HH:MM" (empty for None)."""
    local = to_local(value)
    return local.strftime("%d/%m/%Y %H:%M") if local else ""


def receipt_by_sms(channel: str, phone: str | None) -> bool:
    """Whether a new ticket from CHANNEL and PHONE gets its code by SMS (the IVR says so)."""
    return channel not in CHANNELS_REPLYING_WITH_CODE and can_receive_sms(phone)


def receipt(ticket: Ticket, now: datetime | None = None) -> int | None:
    """The code by SMS to a citizen whose number takes SMS, unless their channel gave it."""
    if not receipt_by_sms(ticket.channel, ticket.phone):
        return None
    return notify_citizen(
        ticket,
        "receipt",
        {"tracking_url": tracking_url(ticket.code)},
        f"receipt:{ticket.code}",
        now,
    )


def ask_citizen(ticket: Ticket, question: str, now: datetime | None = None) -> int | None:
    """The agency's question, to the citizen by SMS (or email when they left no phone)."""
    now = now or utcnow()
    short = question
    if len(question) > QUESTION_SMS_CHARS:
        short = question[: QUESTION_SMS_CHARS - 1] + "…"
    return notify_citizen(
        ticket,
        "ask_citizen",
        {"question": short if ticket.phone else question},
        f"ask:{ticket.code}:{now.isoformat()}",
        now,
    )


def answer(ticket: Ticket, rating_token: str, now: datetime | None = None) -> int | None:
    """The answer is out: the tracking link and the one-time rating link."""
    now = now or utcnow()
    return notify_citizen(
        ticket,
        "answer",
        {"tracking_url": tracking_url(ticket.code), "rating_url": rating_url(rating_token)},
        f"answer:{ticket.code}:{now.isoformat()}",
        now,
    )


def closed(ticket: Ticket, reason: str, now: datetime | None = None) -> int | None:
    """The ticket was closed without an answer (spam, out of scope...): tell the citizen."""
    now = now or utcnow()
    return notify_citizen(
        ticket,
        "closed",
        {
            "tracking_url": tracking_url(ticket.code),
            "reason_label": CLOSE_REASON_LABELS.get(reason, reason),
        },
        f"closed:{ticket.code}:{now.isoformat()}",
        now,
    )


def merged(ticket: Ticket, original: Ticket, now: datetime | None = None) -> int | None:
    """The duplicate's citizen learns the original's code, which carries on."""
    return notify_citizen(
        ticket,
        "merged",
        {"original": original.code, "original_tracking_url": tracking_url(original.code)},
        f"merged:{ticket.code}:{original.code}",
        now,
    )


def new_ticket(ticket: Ticket, now: datetime | None = None) -> list[int]:
    """Email the ticket's new agency, when it asked for new-ticket emails."""
    # By id: the services change the ids without refreshing the relationships. Reference
    # rows only: the ticket's pending changes are not flushed for them.
    with db.session.no_autoflush:
        agency = db.session.get(Agency, ticket.agency_id) if ticket.agency_id else None
        if agency is None or not agency.notify_new_tickets:
            return []
        category = db.session.get(Category, ticket.category_id) if ticket.category_id else None
        commune = db.session.get(Commune, ticket.commune_id) if ticket.commune_id else None
    now = now or utcnow()
    payload = {
        "locale": "vi",
        "code": ticket.code,
        "agency_name": agency.name,
        "category": category.name_vi if category else "",
        "commune": commune.full_name if commune else "",
        # The report itself, never the citizen's name or number: staff see those in the app.
        "description": (ticket.description or "")[:1000],
        "acknowledge_due": local_text(ticket.acknowledge_due_at),
        "resolve_due": local_text(ticket.resolve_due_at),
        "url": staff_ticket_url(ticket.code),
    }
    rows = [
        message_row(
            channel="email",
            recipient=address,
            template="new_ticket",
            payload=payload,
            key=f"new:{ticket.code}:{ticket.sla_cycle}:{address}",
            ticket_id=ticket.id,
            now=now,
        )
        for address in agency.email_list()
    ]
    # Through the outbox flush (one job per burst of new tickets, not one per email): the
    # routing worker, which writes these, stays fast; the flush follows within moments.
    return queue_messages(rows, send_now=False) if rows else []
