"""Tickets from calls: the call's own record, the caller's number, one ticket per CallSid.

Every call leaves a record at its first webhook (inbound channel `voice_call`, keyed by the
CallSid): the caller's number, because Twilio's recording status callbacks carry no `From`,
and later the call's final status. It stays even when the call makes no ticket.

The ticket is keyed by the same CallSid on channel `voice`, and created by whichever
callback arrives first; later callbacks only complete it (recording attached, status kept).

When a call makes a ticket. Once the caller picks a field, the whole call is recorded
(`<Start><Recording>`), and that recording lasts as long as the call: on its own it proves
nothing, since most callers who hang up right after the key press leave one too. A 1022
centre must not lose a report, and must not bury its operators (let alone the agencies)
under hang-ups, so:

- a speech transcript makes a ticket, routed like any other;
- a message left at the `<Record>` prompt makes one, routed, from MIN_RECORDING_SECONDS
  (Twilio trims silence, so a silent caller leaves about nothing);
- the whole-call recording alone (the caller hung up before any transcript or message)
  makes one only from CALL_RECORDING_MIN_SECONDS: long enough to hold the speaking prompt
  and a few seconds of the caller's turn, so a hang-up during the prompt is dropped. That
  ticket has no text the router could read: it goes straight to `triage`, described as a
  call cut off, for an operator to listen to and classify or close as spam; it never lands
  in an agency's queue on the strength of a key press alone;
- a shorter one makes no ticket, and the call's record says so (`outcome`), so the centre
  still counts its abandoned calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from hotline.extensions import db
from hotline.intake.ivr import ivr_config
from hotline.intake.recordings import enqueue_recording_fetches
from hotline.models import Ticket
from hotline.phones import normalize_phone
from hotline.tickets.errors import InvalidInput
from hotline.tickets.services import (
    InboundRecord,
    NewAttachment,
    Report,
    add_attachments,
    create_ticket,
    find_inbound,
    record_inbound,
    send_to_triage,
    update_inbound,
)

log = logging.getLogger(__name__)

TICKET_CHANNEL = "voice"  # the inbound key of the call's ticket
CALL_CHANNEL = "voice_call"  # the inbound key of the call itself
MIN_RECORDING_SECONDS = 2  # shorter than this is silence or a hang-up, not a report
# The speaking prompt takes about 8 s to say, and the whole-call recording starts before it:
# from 12 s on, the caller had at least 4 s to speak. A province with a longer prompt sets
# "call_recording_min_seconds" in its ivr.json.
CALL_RECORDING_MIN_SECONDS = 12


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
    *,
    route: bool = True,
) -> tuple[Ticket, bool]:
    """Create the call's ticket, or return the one another callback created first.

    Returns:
        (ticket, created).
    """
    inbound = InboundRecord(TICKET_CHANNEL, call_sid, data={**data, "category": category})
    phone = caller_phone(call_sid, sender)
    report = Report(TICKET_CHANNEL, description, category_code=category, phone=phone)
    try:
        new = create_ticket(report, inbound=inbound, attachments=attachments, route=route)
    except InvalidInput:
        # The field was deactivated since the menu was read: keep the report, route by text.
        report = replace(report, category_code=None)
        new = create_ticket(report, inbound=inbound, attachments=attachments, route=route)
    return new.ticket, new.created


def _call_recording_min_seconds() -> int:
    try:
        return int(ivr_config().get("call_recording_min_seconds", CALL_RECORDING_MIN_SECONDS))
    except (TypeError, ValueError):
        return CALL_RECORDING_MIN_SECONDS


def ticket_from_recording(
    call_sid: str,
    sender: str | None,
    recording: Recording,
    category: str | None,
    *,
    whole_call: bool = False,
) -> Ticket | None:
    """Attach RECORDING to the call's ticket, or make the ticket by the rules above.

    Args:
        call_sid: the call.
        sender: the `From` of the request, when Twilio sent one.
        recording: what Twilio posted.
        category: the field the caller chose, if any.
        whole_call: RECORDING is the whole-call recording, not a message left at <Record>.

    Returns:
        The call's ticket, or None when the recording makes none.
    """
    ticket = _recording_ticket(call_sid, sender, recording, category, whole_call)
    if ticket is not None:
        # Committed: the download from Twilio can start (staff cannot play it from there).
        enqueue_recording_fetches(ticket.id)
    return ticket


def _recording_ticket(
    call_sid: str, sender: str | None, recording: Recording, category: str | None, whole_call: bool
) -> Ticket | None:
    seen = find_inbound(TICKET_CHANNEL, call_sid)
    if seen is not None and seen.ticket is not None:
        add_attachments(seen.ticket.id, [recording.attachment()])
        return seen.ticket
    if not whole_call:
        if recording.duration < MIN_RECORDING_SECONDS:
            return None
        description = _("Phản ánh qua điện thoại: nội dung trong bản ghi âm kèm theo.")
        ticket, _created = open_call_ticket(
            call_sid,
            sender,
            description,
            category,
            [recording.attachment()],
            {"source": "recording"},
        )
        return ticket
    if recording.duration < _call_recording_min_seconds():
        update_inbound(
            CALL_CHANNEL,
            call_sid,
            {"outcome": "no_report", "recording_seconds": recording.duration},
        )
        return None
    description = _(
        "Cuộc gọi bị ngắt trước khi phản ánh được ghi nhận: "
        "nghe bản ghi âm cuộc gọi để biết nội dung."
    )
    ticket, created = open_call_ticket(
        call_sid,
        sender,
        description,
        category,
        [recording.attachment()],
        {"source": "call_recording"},
        route=False,
    )
    if created:
        # No text to route by: an operator listens first (SPEC §5: triage over a wrong agency).
        send_to_triage(
            ticket.id,
            reason=_("Cuộc gọi bị ngắt, chỉ có bản ghi âm: cần nghe để phân loại."),
            data={"source": "call_recording", "recording_seconds": recording.duration},
        )
    return ticket
