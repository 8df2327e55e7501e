"""Domain errors raised by the ticket services; views map them to HTTP answers."""

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    http_status = 400


class NotFound(DomainError):
    """The ticket (or other record) does not exist, or the actor may not know it exists."""

    http_status = 404


class PermissionDenied(DomainError):
    """The actor's role or agency does not allow this action."""

    http_status = 403


class InvalidTransition(DomainError):
    """The ticket's state does not allow this action."""

    http_status = 409

    def __init__(self, action: str, status: str):
        super().__init__(f"cannot {action} a ticket in state {status!r}")
        self.action = action
        self.status = status


class InvalidInput(DomainError):
    """A value given to a service is missing or malformed."""

    http_status = 400

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ConflictError(DomainError):
    """Someone else changed the ticket since the actor loaded it."""

    http_status = 409

    def __init__(self, code: str, changed_by: str | None, changed_at: datetime | None):
        who = changed_by or "another process"
        super().__init__(f"ticket {code} was changed by {who}; reload it and try again")
        self.code = code
        self.changed_by = changed_by
        self.changed_at = changed_at


def required_text(value: str | None, field_name: str, max_len: int = 4000) -> str:
    """Return VALUE stripped; raise InvalidInput when it is empty or longer than MAX_LEN."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(field_name, "is required")
    if len(text) > max_len:
        raise InvalidInput(field_name, f"is longer than {max_len} characters")
    return text
