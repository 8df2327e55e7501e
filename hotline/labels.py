"""Vietnamese labels (translatable) for the codes stored on tickets, users and events.

One table per code, shared by every layer that shows a code to a person: the staff and admin
pages, the public pages and the intake replies (an SMS look-up answers with the status label).
It lives outside `staff` so that intake does not depend on the staff UI.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l

# SelectChoice is new in WTForms 3.3; types-WTForms (3.2.1) does not know it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

STATUS_LABELS = {
    "received": _l("Đã tiếp nhận"),
    "triage": _l("Chờ phân loại"),
    "assigned": _l("Đã chuyển xử lý"),
    "acknowledged": _l("Đang xử lý"),
    "waiting_citizen": _l("Chờ bổ sung"),
    "transfer_requested": _l("Đề nghị chuyển"),
    "resolved": _l("Đã trả lời"),
    "closed": _l("Đã đóng"),
}
SLA_LABELS = {
    "on_track": _l("Trong hạn"),
    "at_risk": _l("Sắp đến hạn"),
    "breached": _l("Quá hạn"),
    "met": _l("Đúng hạn"),
}
CHANNEL_LABELS = {
    "voice": _l("Điện thoại"),
    "sms": _l("Tin nhắn SMS"),
    "web": _l("Cổng thông tin"),
    "api": _l("API"),
    "open311": _l("Open311"),
    "operator": _l("Tổng đài viên"),
}
CLOSE_REASON_LABELS = {
    "answered": _l("Đã trả lời"),
    "spam": _l("Tin rác"),
    "duplicate": _l("Trùng lặp"),
    "out_of_scope": _l("Không thuộc phạm vi (khiếu nại, tố cáo)"),
}
ROLE_LABELS = {
    "operator": _l("Tổng đài viên"),
    "agent": _l("Cán bộ đầu mối"),
    "agency_head": _l("Lãnh đạo đơn vị"),
    "supervisor": _l("Giám sát"),
    "admin": _l("Quản trị hệ thống"),
}
PRIORITY_LABELS = {
    "urgent": _l("Khẩn"),
    "normal": _l("Thông thường"),
    "complex": _l("Phức tạp"),
}
SCOPE_LABELS = {
    "local": _l("Cấp xã"),
    "provincial": _l("Cấp tỉnh"),
    "by-area": _l("Theo khu vực"),
}
AGENCY_KIND_LABELS = {
    "department": _l("Sở, ngành"),
    "police": _l("Công an"),
    "utility": _l("Doanh nghiệp dịch vụ"),
    "commune": _l("UBND xã, phường"),
    "triage": _l("Phân loại"),
    "office": _l("Văn phòng"),
}
EVENT_LABELS = {
    "created": _l("Tiếp nhận phản ánh"),
    "triage": _l("Chuyển chờ phân loại"),
    "assigned": _l("Giao đơn vị xử lý"),
    "acknowledged": _l("Đơn vị tiếp nhận xử lý"),
    "note": _l("Ghi chú nội bộ"),
    "asked_citizen": _l("Đề nghị người dân bổ sung"),
    "citizen_replied": _l("Người dân bổ sung thông tin"),
    "transfer_requested": _l("Đề nghị chuyển đơn vị"),
    "transfer_approved": _l("Đồng ý chuyển đơn vị"),
    "transfer_refused": _l("Không đồng ý chuyển"),
    "resolved": _l("Đơn vị trả lời"),
    "closed": _l("Đóng phiếu"),
    "rejected": _l("Từ chối phiếu"),
    "reopened": _l("Mở lại phiếu"),
    "merged": _l("Gộp vào phiếu trùng"),
    "duplicate_linked": _l("Có phiếu trùng được gộp vào"),
    "rated": _l("Người dân đánh giá"),
    "attachments_added": _l("Thêm tệp đính kèm"),
}
ACTOR_LABELS = {
    "citizen": _l("Người dân"),
    "routing": _l("Hệ thống phân loại"),
    "system": _l("Hệ thống"),
    "sla": _l("Hệ thống theo dõi hạn"),
    "staff": _l("Cán bộ"),
}
ATTACHMENT_KIND_LABELS = {
    "photo": _l("Ảnh"),
    "mms": _l("Ảnh MMS"),
    "recording": _l("Ghi âm cuộc gọi"),
}
ACTION_LABELS = {
    "acknowledge": _l("Tiếp nhận xử lý"),
    "note": _l("Ghi chú nội bộ"),
    "ask_citizen": _l("Đề nghị người dân bổ sung"),
    "resolve": _l("Trả lời và hoàn thành"),
    "request_transfer": _l("Đề nghị chuyển đơn vị"),
    "approve_transfer": _l("Đồng ý chuyển"),
    "refuse_transfer": _l("Không đồng ý chuyển"),
    "close": _l("Duyệt và đóng phiếu"),
    "reopen": _l("Mở lại"),
    "reject": _l("Từ chối phiếu"),
    "merge": _l("Gộp phiếu trùng"),
    "assign": _l("Phân loại và giao xử lý"),
}


def label(table: dict, code: str | None) -> str:
    """Return the label of CODE in TABLE, or CODE itself when it has none."""
    if not code:
        return ""
    value = table.get(code)
    return str(value) if value is not None else code


def options(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """Return (value, label) PAIRS as the options of a WTForms select or radio field."""
    return [SelectChoice(str(value), label) for value, label in pairs]
