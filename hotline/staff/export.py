"""CSV export of any filtered list: UTF-8 with a BOM, so Excel shows Vietnamese correctly."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from flask import Response, request, stream_with_context
from flask_babel import get_locale
from flask_babel import gettext as _

from hotline import labels
from hotline.auth import audit
from hotline.auth.access import roles_required, staff_user
from hotline.extensions import db
from hotline.models import Ticket
from hotline.staff import bp
from hotline.staff.queue import QueueFilterForm, QueueFilters, filtered_tickets, ordered
from hotline.timeutil import to_local, utcnow

EXPORT_LIMIT = 100_000
BOM = "\ufeff"


def csv_stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """Yield a CSV document chunk by chunk, starting with the byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def drain() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow(header)
    yield BOM + drain()
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % 500 == 0:
            yield drain()
    rest = drain()
    if rest:
        yield rest


def csv_response(filename: str, header: list[str], rows: Iterable[list]) -> Response:
    """A streamed CSV download named FILENAME."""
    response = Response(
        stream_with_context(csv_stream(header, rows)), mimetype="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _local(value) -> str:
    local = to_local(value)
    return local.strftime("%d/%m/%Y %H:%M") if local else ""


def _ticket_rows(tickets: Iterable[Ticket], locale: str) -> Iterator[list]:
    for t in tickets:
        running = t.acknowledge_state if t.acknowledged_at is None else t.resolve_state
        yield [
            t.code,
            labels.label(labels.STATUS_LABELS, t.status),
            labels.label(labels.CHANNEL_LABELS, t.channel),
            t.category.name(locale) if t.category else "",
            t.agency.name if t.agency else "",
            t.commune.full_name if t.commune else "",
            labels.label(labels.PRIORITY_LABELS, t.priority),
            _local(t.created_at),
            _local(t.due_at),
            labels.label(labels.SLA_LABELS, running) if t.due_at else "",
            _local(t.resolved_at),
            _local(t.closed_at),
            t.address,
            t.description,
        ]


@bp.get("/tickets.csv")
@roles_required()
def export_csv():
    """Download the queue with the current filters (no phone, name or email: not needed)."""
    user = staff_user()
    locale = str(get_locale() or "vi")
    form = QueueFilterForm(request.args)
    form.fill_choices(user, locale)
    form.validate()
    filters = QueueFilters.from_form(form)
    stmt = ordered(filtered_tickets(user, filters), filters.sort).limit(EXPORT_LIMIT)
    # Who took a copy of the citizens' reports, and which: the filters, but not the search
    # words (they may be a citizen's phone number), only their length.
    given = {k: v for k, v in request.args.items() if v and k != "q"}
    if request.args.get("q"):
        given["q"] = f"<{len(request.args['q'])} ký tự>"
    audit.record("staff.export.tickets", actor=user, target="tickets.csv", data={"filters": given})
    db.session.commit()

    def rows() -> Iterator[list]:
        # Queried while streaming: Flask tears the request down (closing the session) before
        # the body is sent, then pushes the contexts again around this generator.
        tickets = db.session.execute(stmt.execution_options(yield_per=1000)).scalars()
        yield from _ticket_rows(tickets, locale)

    header = [
        _("Mã phiếu"),
        _("Trạng thái"),
        _("Kênh"),
        _("Lĩnh vực"),
        _("Đơn vị xử lý"),
        _("Xã, phường"),
        _("Mức độ"),
        _("Ngày tiếp nhận"),
        _("Hạn xử lý"),
        _("Tình trạng hạn"),
        _("Ngày trả lời"),
        _("Ngày đóng"),
        _("Địa chỉ"),
        _("Nội dung"),
    ]
    filename = f"phieu-1022-{to_local(utcnow()):%Y%m%d-%H%M}.csv"
    return csv_response(filename, header, rows())
