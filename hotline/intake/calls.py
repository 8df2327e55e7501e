"""Tickets from calls: the call's own record, the caller's number, one ticket per CallSid.

Every call leaves a record at its first webhook (inbound channel `voice_call`, keyed by the
CallSid): the caller's number, because Twilio's recording status callbacks carry no `From`,
and later the call's final status. It stays even when the call makes no ticket.

The ticket is keyed by the same CallSid on channel `voice`, and created by whichever
callback arrives first: the speech result, the <Record> action, or a recording status
callback; later callbacks only complete it (recording attached, call status kept).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from hotline.extensions import db
from hotline.models import Ticket
from hotline.phones import normalize_phone
from hotline.tickets.errors import InvalidInput
from hotline.tickets.services import (
    InboundRecord,
    NewAttachment,
    add_attachments,
    find_inbound,
    open_ticket,
    record_inbound,
    update_inbound,
)

log = logging.getLogger(__name__)

TICKET_CHANNEL = "voice"  # the inbound key of the call's ticket
CALL_CHANNEL = "voice_call"  # the inbound key of the call itself
MIN_RECORDING_SECONDS = 2  # shorter than this is silence or a hang-up, not a report


@dataclass(frozen=True)
class Recording:
    """A recording Twilio posted: its URL at Twilio, its id and its length in seconds."""

    url: str
    sid: str
    duration: int

    def attachment(self) -> NewAttachment:
        """Return the attachment that keeps this recording with the ticket."""
        return NewAttachment(
            "recording",
            source_url=self.url[:1000],
            content_type="audio/wav",
            data={"recording_sid": self.sid[:64], "duration": self.duration},
        )


def remember_call(call_sid: str, sender: str | None, to: str | None) -> None:
    """Keep the call's record (the caller's number) at its first webhook; once per call.

    A database outage must not silence the IVR (the operator line needs no database), so a
    failure is logged, without the number, and the call goes on.
    """
    try:
        record_inbound(
            InboundRecord(
                CALL_CHANNEL,
                call_sid,
                kind="call",
                data={"caller": normalize_phone(sender), "to": (to or "")[:40]},
            )
        )
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("could not keep the call's record: %s", type(exc).__name__)


def caller_phone(call_sid: str, sender: str | None) -> str | None:
    """Return the caller's E.164 number: from the request, else from the call's record."""
    phone = normalize_phone(sender)
    if phone is None:
        record = find_inbound(CALL_CHANNEL, call_sid)
        if record is not None:
            phone = (record.data or {}).get("caller")
    return phone


def call_ended(call_sid: str, status: str, duration: int) -> None:
    """Keep the call's final status with its record and with its ticket's delivery."""
    data = {"call_status": status[:20], "duration": duration}
    update_inbound(CALL_CHANNEL, call_sid, data)
    update_inbound(TICKET_CHANNEL, call_sid, data)


def open_call_ticket(
    call_sid: str,
    sender: str | None,
    description: str,
    category: str | None,
    attachments: list[NewAttachment],
    data: dict[str, Any],
) -> Ticket:
    """Create the call's ticket (or return it, when another callback created it first)."""
    inbound = InboundRecord(TICKET_CHANNEL, call_sid, data={**data, "category": category})
    phone = caller_phone(call_sid, sender)
    try:
        ticket, _created = open_ticket(
            channel=TICKET_CHANNEL,
            description=description,
            category_code=category,
            phone=phone,
            inbound=inbound,
            attachments=attachments,
        )
    except InvalidInput:
        # The field was deactivated since the menu was read: keep the report, route by text.
        ticket, _created = open_ticket(
            channel=TICKET_CHANNEL,
            description=description,
            phone=phone,
            inbound=inbound,
            attachments=attachments,
        )
    return ticket


def ticket_from_recording(
    call_sid: str, sender: str | None, recording: Recording, category: str | None
) -> Ticket | None:
    """Attach RECORDING to the call's ticket, creating the ticket if it is long enough."""
    seen = find_inbound(TICKET_CHANNEL, call_sid)
    if seen is not None and seen.ticket is not None:
        add_attachments(seen.ticket.id, [recording.attachment()])
        return seen.ticket
    if recording.duration < MIN_RECORDING_SECONDS:
        return None
    description = _("Phản ánh qua điện thoại: nội dung trong bản ghi âm kèm theo.")
    return open_call_ticket(
        call_sid, sender, description, category, [recording.attachment()], {"source": "recording"}
    )
