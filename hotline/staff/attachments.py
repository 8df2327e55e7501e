"""/staff/attachments/<id>: photos and call recordings, served only to who may see the ticket."""

from __future__ import annotations

import io
import os

from flask import Response, abort, request, send_file
from flask_babel import gettext as _

from hotline.auth.access import roles_required, staff_user
from hotline.extensions import db
from hotline.models import Attachment
from hotline.staff import bp
from hotline.storage import StorageError, get_store
from hotline.tickets.permissions import can_view

# Shown in the browser; anything else is downloaded, never rendered.
INLINE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "audio/mpeg", "audio/wav", "audio/x-wav"}
)


@bp.get("/attachments/<int:attachment_id>")
@roles_required()
def attachment(attachment_id: int):
    """Stream an attachment from storage after checking the ticket is visible to the user."""
    item = db.session.get(Attachment, attachment_id)
    if item is None or not can_view(staff_user(), item.ticket):
        abort(404)
    if not item.storage_key:
        # A recording still at the provider: not fetched yet, and never proxied from here.
        return Response(_("Tệp chưa được tải về hệ thống."), status=404, mimetype="text/plain")
    try:
        handle = get_store().open(item.storage_key)
    except StorageError:
        abort(404)
    mimetype = item.content_type or "application/octet-stream"
    extension = item.storage_key.rsplit(".", 1)[-1]
    try:
        size: int | None = os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        size = item.size
    response = send_file(
        handle,
        mimetype=mimetype,
        as_attachment=mimetype not in INLINE_TYPES,
        download_name=f"{item.ticket.code}-{item.id}.{extension}",
        conditional=False,
        max_age=0,
    )
    if size is not None:
        # Byte ranges (send_file offers them only for paths): an <audio> player seeks with
        # them, and Safari plays nothing without them.
        response.content_length = size
        response.make_conditional(request, accept_ranges=True, complete_length=size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
