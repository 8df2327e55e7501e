"""Email through SMTP: one message with a plain-text and an HTML part."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app

from hotline.notifications.errors import PermanentSendError, TransientSendError


def build_email(to: str, subject: str, text: str, html: str | None, reference: str) -> EmailMessage:
    """Return the MIME message: text/plain first, text/html as the alternative.

    Args:
        to: the recipient's address.
        subject: the subject line.
        text: the plain-text body.
        html: the HTML body, or None for a text-only email.
        reference: our idempotency key, sent as a header so a resend can be recognised.
    """
    config = current_app.config
    message = EmailMessage()
    message["From"] = config.get("MAIL_FROM") or "no-reply@localhost"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(message["From"])[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["X-Hotline-Reference"] = reference
    message.set_content(text, charset="utf-8")
    if html:
        message.add_alternative(html, subtype="html", charset="utf-8")
    return message


class _HandOverSMTP(smtplib.SMTP):
    """An SMTP client that calls `on_data` right before DATA: once the server accepted the
    sender and the recipient, the next reply may be the one that takes the message."""

    on_data: Callable[[], None] | None = None

    def data(self, msg):  # noqa: D102 - smtplib's own
        if self.on_data is not None:
            self.on_data()
        return super().data(msg)


def send_email(message: EmailMessage, on_handover: Callable[[], None] | None = None) -> str:
    """Hand MESSAGE to the SMTP server; return its Message-ID.

    ON_HANDOVER is called after the server accepted the envelope, right before the message
    itself is sent (a refused connection or recipient happens before it, nothing sent).

    Raises:
        PermanentSendError: the server refused with a 5xx reply.
        TransientSendError: the server is unreachable or answered 4xx.
    """
    config = current_app.config
    try:
        with _HandOverSMTP(
            config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=config.get("SMTP_TIMEOUT", 10)
        ) as smtp:
            smtp.on_data = on_handover
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "smtp recipients refused " + ",".join(str(c) for c in codes)
        if codes and all(code >= 500 for code in codes):
            raise PermanentSendError(detail) from None
        raise TransientSendError(detail) from None
    except smtplib.SMTPResponseException as exc:
        detail = f"smtp {exc.smtp_code} {_short(exc.smtp_error)}"
        if exc.smtp_code >= 500:
            raise PermanentSendError(detail) from None
        raise TransientSendError(detail) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientSendError(f"smtp: {type(exc).__name__}") from None
    return str(message["Message-ID"])


def _short(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return text[:200]
