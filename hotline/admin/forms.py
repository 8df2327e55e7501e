"""Forms of the admin pages."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from hotline import labels
from hotline.labels import options
from hotline.models import AGENCY_KINDS, PRIORITIES, ROLES, SCOPES
from hotline.users import MIN_PASSWORD_LENGTH, UserError, normalise_email

_REQUIRED = _l("Vui lòng điền trường này.")
_CODE = Regexp(
    r"^[a-z0-9][a-z0-9-]*$", message=_l("Chỉ dùng chữ thường không dấu, số và dấu gạch ngang.")
)


def _choices(table: dict, codes) -> list:
    return options((c, labels.label(table, c)) for c in codes)


class AgencyForm(FlaskForm):
    """An agency and where its notifications go."""

    code = StringField(_l("Mã đơn vị"), validators=[DataRequired(_REQUIRED), Length(max=64), _CODE])
    name = StringField(_l("Tên đơn vị"), validators=[DataRequired(_REQUIRED), Length(max=255)])
    kind = SelectField(_l("Loại"), validators=[DataRequired(_REQUIRED)])
    emails = TextAreaField(
        _l("Email nhận thông báo"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Nhiều địa chỉ cách nhau bằng dấu phẩy."),
        render_kw={"rows": 2},
    )
    notify_new_tickets = BooleanField(_l("Gửi email khi có phiếu mới"))
    active = BooleanField(_l("Đang hoạt động"), default=True)
    submit = SubmitField(_l("Lưu"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = _choices(labels.AGENCY_KIND_LABELS, AGENCY_KINDS)

    def validate_emails(self, field) -> None:
        cleaned = []
        for address in (field.data or "").replace(";", ",").split(","):
            address = address.strip()
            if not address:
                continue
            try:
                cleaned.append(normalise_email(address))
            except UserError:
                raise ValidationError(
                    str(_l("Email không hợp lệ: %(email)s", email=address))
                ) from None
        field.data = ", ".join(cleaned)


class UserForm(FlaskForm):
    """A member of staff."""

    email = EmailField(
        _l("Email đăng nhập"),
        validators=[
            DataRequired(_REQUIRED),
            Email(message=_l("Email không hợp lệ.")),
            Length(max=255),
        ],
    )
    name = StringField(_l("Họ tên"), validators=[DataRequired(_REQUIRED), Length(max=255)])
    role = SelectField(_l("Vai trò"), validators=[DataRequired(_REQUIRED)])
    # No Optional(): it would skip validate_agency when the field is empty.
    agency = SelectField(_l("Đơn vị"))
    active = BooleanField(_l("Đang hoạt động"), default=True)
    password = PasswordField(
        _l("Mật khẩu mới"),
        validators=[
            Optional(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l("Mật khẩu cần từ %(min)d ký tự.", min=MIN_PASSWORD_LENGTH),
            ),
        ],
        description=_l("Để trống nếu không đổi."),
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Lưu"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _choices(labels.ROLE_LABELS, ROLES)

    def validate_agency(self, field) -> None:
        if self.role.data in ("agent", "agency_head") and not field.data:
            raise ValidationError(str(_l("Cán bộ và lãnh đạo đơn vị phải thuộc một đơn vị.")))
        if self.role.data not in ("agent", "agency_head") and field.data:
            raise ValidationError(str(_l("Vai trò này không thuộc đơn vị nào.")))


class CategoryForm(FlaskForm):
    """A field of complaints and how it is routed."""

    code = StringField(
        _l("Mã lĩnh vực"), validators=[DataRequired(_REQUIRED), Length(max=64), _CODE]
    )
    name_vi = StringField(
        _l("Tên tiếng Việt"), validators=[DataRequired(_REQUIRED), Length(max=255)]
    )
    name_en = StringField(
        _l("Tên tiếng Anh"), validators=[DataRequired(_REQUIRED), Length(max=255)]
    )
    scope = SelectField(_l("Phạm vi"), validators=[DataRequired(_REQUIRED)])
    agency = SelectField(_l("Cơ quan cấp tỉnh phụ trách"), validators=[Optional()])
    ivr_key = IntegerField(
        _l("Phím chọn trên tổng đài"), validators=[Optional(), NumberRange(min=1, max=9)]
    )
    notes = TextAreaField(
        _l("Ghi chú"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2}
    )
    active = BooleanField(_l("Đang sử dụng"), default=True)
    submit = SubmitField(_l("Lưu"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope.choices = _choices(labels.SCOPE_LABELS, SCOPES)


class KeywordForm(FlaskForm):
    """A routing phrase of a category."""

    phrase = StringField(_l("Từ khóa"), validators=[DataRequired(_REQUIRED), Length(max=255)])
    weight = DecimalField(
        _l("Trọng số"),
        places=1,
        default=Decimal(1),
        validators=[InputRequired(_REQUIRED), NumberRange(min=0.1, max=20)],
    )
    submit = SubmitField(_l("Thêm từ khóa"))


class SlaPolicyForm(FlaskForm):
    """Working-time targets of one category and priority."""

    priority = SelectField(_l("Mức độ"), validators=[DataRequired(_REQUIRED)])
    acknowledge_hours = DecimalField(
        _l("Hạn tiếp nhận (giờ làm việc)"),
        places=2,
        validators=[InputRequired(_REQUIRED), NumberRange(min=0.25, max=500)],
    )
    resolve_hours = DecimalField(
        _l("Hạn trả lời (giờ làm việc)"),
        places=2,
        validators=[InputRequired(_REQUIRED), NumberRange(min=0.5, max=5000)],
    )
    at_risk_percent = IntegerField(
        _l("Cảnh báo sắp đến hạn khi đã dùng (%)"),
        default=75,
        validators=[InputRequired(_REQUIRED), NumberRange(min=10, max=100)],
    )
    submit = SubmitField(_l("Lưu"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.priority.choices = _choices(labels.PRIORITY_LABELS, PRIORITIES)

    def validate_resolve_hours(self, field) -> None:
        if self.acknowledge_hours.data is not None and field.data is not None:
            if field.data < self.acknowledge_hours.data:
                raise ValidationError(str(_l("Hạn trả lời không thể ngắn hơn hạn tiếp nhận.")))


class CalendarDayForm(FlaskForm):
    """An extra day off or a make-up working day."""

    day = DateField(_l("Ngày"), validators=[InputRequired(_REQUIRED)])
    kind = SelectField(
        _l("Loại ngày"),
        choices=options([("off", _l("Ngày nghỉ")), ("work", _l("Ngày làm việc bù"))]),
        validators=[DataRequired(_REQUIRED)],
    )
    name = StringField(_l("Lý do"), validators=[Optional(), Length(max=255)])
    submit = SubmitField(_l("Thêm ngày"))


class ConfirmForm(FlaskForm):
    """A bare form: the CSRF token of a delete or unlock button."""

    submit = SubmitField(_l("Xác nhận"))
