"""Forms of the ticket page's actions; each carries the ticket version it was shown with."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from hotline.labels import options
from hotline.tickets.codes import clean_code, is_valid_code


def _required(message):
    return DataRequired(message=message)


class VersionedForm(FlaskForm):
    """Base of every action: the version guards against overwriting someone else's change."""

    version = HiddenField()

    def validate_version(self, field) -> None:
        if not (field.data or "").isdigit():
            raise ValidationError(str(_l("Biểu mẫu không hợp lệ, vui lòng tải lại trang.")))

    def expected_version(self) -> int:
        """The version the form was shown with."""
        return int(self.version.data or "")  # validate_version has checked it is digits


class AcknowledgeForm(VersionedForm):
    """Accept the ticket for the agency."""

    submit = SubmitField(_l("Tiếp nhận xử lý"))


class NoteForm(VersionedForm):
    """An internal note."""

    note = TextAreaField(
        _l("Ghi chú nội bộ (không công khai)"),
        validators=[_required(_l("Vui lòng nhập nội dung ghi chú.")), Length(max=4000)],
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Lưu ghi chú"))


class AskCitizenForm(VersionedForm):
    """A question sent to the citizen by SMS (or email)."""

    question = TextAreaField(
        _l("Nội dung cần người dân bổ sung"),
        validators=[_required(_l("Vui lòng nhập nội dung cần bổ sung.")), Length(max=1000)],
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Gửi đề nghị bổ sung"))


class ResolveForm(VersionedForm):
    """The agency's answer, public once a supervisor publishes it."""

    answer = TextAreaField(
        _l("Nội dung trả lời người dân"),
        validators=[_required(_l("Vui lòng nhập nội dung trả lời.")), Length(max=8000)],
        render_kw={"rows": 6},
    )
    submit = SubmitField(_l("Gửi trả lời"))


class RequestTransferForm(VersionedForm):
    """Not this agency's matter: ask a supervisor to move it."""

    reason = TextAreaField(
        _l("Lý do đề nghị chuyển"),
        validators=[_required(_l("Vui lòng nêu lý do.")), Length(max=2000)],
        render_kw={"rows": 3},
    )
    to_agency = SelectField(_l("Đơn vị đề xuất (nếu biết)"), validators=[Optional()])
    submit = SubmitField(_l("Gửi đề nghị chuyển"))


class ApproveTransferForm(VersionedForm):
    """A supervisor moves the ticket to another agency."""

    agency = SelectField(
        _l("Chuyển cho đơn vị"), validators=[_required(_l("Vui lòng chọn đơn vị."))]
    )
    note = TextAreaField(_l("Ghi chú"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Đồng ý chuyển"))


class RefuseTransferForm(VersionedForm):
    """A supervisor sends the ticket back to its agency."""

    reason = TextAreaField(
        _l("Lý do không đồng ý"),
        validators=[_required(_l("Vui lòng nêu lý do.")), Length(max=2000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Không đồng ý chuyển"))


class CloseForm(VersionedForm):
    """A supervisor accepts the answer."""

    publish = BooleanField(_l("Công khai câu trả lời trên trang Hỏi đáp"))
    note = TextAreaField(_l("Ghi chú"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Duyệt và đóng phiếu"))


class ReopenForm(VersionedForm):
    """A supervisor finds the answer insufficient."""

    reason = TextAreaField(
        _l("Lý do mở lại"),
        validators=[_required(_l("Vui lòng nêu lý do.")), Length(max=2000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Mở lại cho đơn vị"))


class RejectForm(VersionedForm):
    """A supervisor closes the ticket without an answer."""

    reason = SelectField(
        _l("Lý do từ chối"),
        choices=options(
            [
                ("spam", _l("Tin rác")),
                ("duplicate", _l("Trùng lặp")),
                ("out_of_scope", _l("Không thuộc phạm vi (khiếu nại, tố cáo)")),
            ]
        ),
        validators=[_required(_l("Vui lòng chọn lý do."))],
    )
    note = TextAreaField(
        _l("Giải thích cho người dân"),
        validators=[_required(_l("Vui lòng nhập giải thích.")), Length(max=2000)],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Từ chối phiếu"))


class MergeForm(VersionedForm):
    """Close the ticket as a duplicate of another."""

    original = StringField(
        _l("Mã phiếu gốc"),
        validators=[_required(_l("Vui lòng nhập mã phiếu gốc.")), Length(max=20)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    submit = SubmitField(_l("Gộp vào phiếu gốc"))

    def validate_original(self, field) -> None:
        code = clean_code(field.data)
        if not is_valid_code(code):
            raise ValidationError(str(_l("Mã phiếu không đúng (10 chữ số).")))
        field.data = code


class AssignForm(VersionedForm):
    """An operator classifies a ticket and gives it to an agency."""

    category = SelectField(_l("Lĩnh vực"), validators=[_required(_l("Vui lòng chọn lĩnh vực."))])
    commune = SelectField(_l("Xã, phường"), validators=[Optional()])
    agency = SelectField(
        _l("Đơn vị xử lý"),
        validators=[Optional()],
        description=_l("Để trống để hệ thống chọn theo lĩnh vực và địa bàn."),
    )
    reason = TextAreaField(_l("Ghi chú"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Giao xử lý"))


class NewTicketForm(FlaskForm):
    """A caller's report typed in by an operator."""

    description = TextAreaField(
        _l("Nội dung phản ánh"),
        validators=[
            _required(_l("Vui lòng nhập nội dung phản ánh.")),
            Length(min=10, max=4000, message=_l("Nội dung cần từ 10 đến 4000 ký tự.")),
        ],
        render_kw={"rows": 5},
    )
    category = SelectField(_l("Lĩnh vực"), validators=[Optional()])
    commune = SelectField(_l("Xã, phường"), validators=[Optional()])
    address = StringField(_l("Địa chỉ cụ thể"), validators=[Optional(), Length(max=500)])
    priority = SelectField(
        _l("Mức độ"),
        choices=options(
            [("normal", _l("Thông thường")), ("urgent", _l("Khẩn")), ("complex", _l("Phức tạp"))]
        ),
        default="normal",
    )
    citizen_name = StringField(
        _l("Họ tên người phản ánh"), validators=[Optional(), Length(max=255)]
    )
    phone = StringField(
        _l("Số điện thoại"),
        validators=[Optional(), Length(max=40)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    email = EmailField(
        _l("Email"),
        validators=[Optional(), Email(message=_l("Email không hợp lệ.")), Length(max=255)],
    )
    contact_consent = BooleanField(_l("Người dân đồng ý được liên hệ lại"), default=True)
    submit = SubmitField(_l("Tạo phiếu"))
