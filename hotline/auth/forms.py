"""Forms of the sign-in pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from hotline.users import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField(
        _l("Email"),
        validators=[DataRequired(message=_l("Vui lòng nhập email.")), Length(max=255)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[DataRequired(message=_l("Vui lòng nhập mật khẩu.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Đăng nhập"))


class PasswordChangeForm(FlaskForm):
    """The current password and the new one, twice."""

    current_password = PasswordField(
        _l("Mật khẩu hiện tại"),
        validators=[DataRequired(message=_l("Vui lòng nhập mật khẩu hiện tại.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("Mật khẩu mới"),
        validators=[
            DataRequired(message=_l("Vui lòng nhập mật khẩu mới.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l("Mật khẩu cần từ %(min)d ký tự.", min=MIN_PASSWORD_LENGTH),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[DataRequired(message=_l("Vui lòng nhập lại mật khẩu mới."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Đổi mật khẩu"))
