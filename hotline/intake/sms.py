"""SMS intake: Twilio's webhook here, the carriers' gateway in `gateway`; one shared handler.

A message creates a ticket and the reply gives its code; "TRA <code>" / "TRACUU <code>"
answers with the status; an empty message asks for the content. A replayed delivery
(same MessageSid / message_id) creates nothing new and gets the same reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Response, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from hotline.intake.common import (
    LookupCommand,
    is_answered,
    parse_lookup,
    public_url,
    status_label,
    ticket_by_code,
)
from hotline.intake.twilio_auth import twilio_signed
from hotline.notifications.sms import sms_text
from hotline.phones import normalize_phone
from hotline.tickets.services import (
    InboundRecord,
    NewAttachment,
    Report,
    create_ticket,
    find_inbound,
    record_inbound,
)

bp = Blueprint("twilio_sms", __name__)

MAX_TEXT = 4000
MAX_MEDIA = 10  # Twilio sends at most 10 media per MMS


@dataclass(frozen=True)
class SmsDelivery:
    """One inbound message, whichever provider brought it.

    Attributes:
        source: the inbound channel key: "sms" (Twilio) or "sms-gateway" (carriers).
        provider_id: the provider's message id, the dedupe key.
        sender: the sender's number as the provider wrote it.
        text: the message body.
        media: (url, content type) of each MMS medium.
        data: provider details worth keeping (never the sender's number).
    """

    source: str
    provider_id: str
    sender: str
    text: str
    media: list[tuple[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def report_reply(code: str) -> str:
    """Return the reply to a message that created ticket CODE."""
    return _(
        "Tổng đài 1022 đã tiếp nhận phản ánh của quý vị. Mã số: %(code)s. "
        "Để tra cứu, nhắn: TRA %(code)s",
        code=code,
    )


def empty_reply() -> str:
    """Return the reply to a message without content."""
    return _(
        "Tổng đài 1022: tin nhắn chưa có nội dung. Xin nhắn nội dung phản ánh, "
        "kèm địa chỉ, xã/phường nơi xảy ra sự việc."
    )


def lookup_reply(command: LookupCommand) -> str:
    """Return the status answer to a TRA/TRACUU message."""
    if not command.valid:
        return _(
            "Mã số %(code)s không đúng. Mã số gồm 10 chữ số, có trong tin nhắn tiếp nhận. "
            "Nhắn: TRA <mã số>",
            code=command.code or "?",
        )
    ticket = ticket_by_code(command.code)
    if ticket is None:
        return _("Không tìm thấy phản ánh mã số %(code)s.", code=command.code)
    reply = _(
        "Phản ánh %(code)s: %(status)s.", code=ticket.code, status=status_label(ticket.status)
    )
    if is_answered(ticket):
        reply += " " + _("Xem nội dung trả lời tại %(url)s", url=public_url("/track"))
    return reply


def handle_sms(delivery: SmsDelivery) -> str:
    """Store what DELIVERY asks for and return the reply text.

    Args:
        delivery: the parsed message.

    Returns:
        The reply to send back (the same one for a replayed delivery).
    """
    # The message is classified first (no database): each branch's service spots a replay
    # by itself, so the common case (a report) costs one look-up of the delivery, not two.
    text = (delivery.text or "").strip()
    media = delivery.media[:MAX_MEDIA]
    command = parse_lookup(text) if text else None
    if command is not None or not (text or media):
        seen = find_inbound(delivery.source, delivery.provider_id)
        if seen is not None:  # a replay gets the stored answer, not today's status
            return report_reply(seen.ticket.code) if seen.ticket is not None else seen.reply
        if command is None:
            reply, kind, data = empty_reply(), "empty", delivery.data
        else:
            reply, kind = lookup_reply(command), "lookup"
            data = {**delivery.data, "code": command.code}
        stored = record_inbound(
            InboundRecord(delivery.source, delivery.provider_id, kind=kind, reply=reply, data=data)
        )
        return stored.reply if stored.ticket is None else report_reply(stored.ticket.code)
    description = text[:MAX_TEXT] or _("Tin nhắn đa phương tiện không có nội dung chữ.")
    try:
        ticket = create_ticket(
            Report("sms", description, phone=normalize_phone(delivery.sender)),
            inbound=InboundRecord(delivery.source, delivery.provider_id, data=delivery.data),
            attachments=[
                NewAttachment("mms", source_url=url[:1000], content_type=ctype[:100])
                for url, ctype in media
            ],
        )
    except IntegrityError:
        # The id was taken by a message that made no ticket (a look-up, an empty message):
        # a provider reusing ids gets that message's stored reply, not a 500 retried forever.
        seen = find_inbound(delivery.source, delivery.provider_id)
        if seen is None or seen.ticket is not None:
            raise
        return seen.reply
    return report_reply(ticket.code)


def _twilio_media() -> list[tuple[str, str]]:
    try:
        count = int(request.form.get("NumMedia", "0") or 0)
    except ValueError:
        count = 0
    media = []
    for i in range(min(max(count, 0), MAX_MEDIA)):
        url = request.form.get(f"MediaUrl{i}", "").strip()
        if url.startswith("https://") or url.startswith("http://"):
            media.append((url, request.form.get(f"MediaContentType{i}", "")))
    return media


# What `MessagingResponse().message(text)` renders, character for character (a test
# compares the two): the reply to every SMS, written without building an XML tree.
_TWIML_MESSAGE = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>{}</Message></Response>'
_TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response><Message /></Response>'


def twiml_message(text: str) -> Response:
    """Return TwiML that replies TEXT by SMS (TEXT as given: `sms_text` is the caller's)."""
    if not text:
        return Response(_TWIML_EMPTY, mimetype="text/xml")
    return Response(_TWIML_MESSAGE.format(xml_escape(text)), mimetype="text/xml")


@bp.post("/twilio/sms")
@twilio_signed
def twilio_sms() -> Response | tuple[str, int]:
    """Twilio's inbound SMS/MMS webhook: answer with TwiML <Message>."""
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "").strip()
    if not sid or len(sid) > 120:
        return "MessageSid is required", 400
    delivery = SmsDelivery(
        source="sms",
        provider_id=sid,
        sender=request.form.get("From", ""),
        text=request.form.get("Body", ""),
        media=_twilio_media(),
        data={"to": request.form.get("To", "")[:40], "provider": "twilio"},
    )
    return twiml_message(sms_text(handle_sms(delivery)))
