"""Errors of the message senders: a permanent one fails the message, a transient one retries."""

from __future__ import annotations


class SendError(Exception):
    """A provider did not take the message."""


class PermanentSendError(SendError):
    """The message can never be sent (invalid number, unsubscribed, mailbox refused)."""


class TransientSendError(SendError):
    """The provider may take the message later (network, 4xx SMTP reply, rate limit)."""
