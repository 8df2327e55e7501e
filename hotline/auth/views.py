"""/login, /logout and /account/password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from hotline.auth import services
from hotline.auth.access import staff_user
from hotline.auth.forms import LoginForm, PasswordChangeForm
from hotline.extensions import limiter
from hotline.forms import add_error
from hotline.timeutil import to_local

bp = Blueprint("auth", __name__)


def _login_rate() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")


def home_for(user) -> str:
    """Return the page a member of staff lands on after signing in."""
    if user.role == "admin":
        return url_for("admin.index")
    if user.role == "operator":
        return url_for("staff.triage")
    return url_for("staff.tickets")


def _safe_next(target: str | None) -> str | None:
    """Return TARGET if it is a path on this site (never another host), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
def login():
    """Show the sign-in form; sign in, or say why not."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = services.authenticate(form.email.data or "", form.password.data or "")
        if result.user is not None:
            lang = session.get("lang")
            session.clear()  # a fresh session on sign-in
            if lang:
                session["lang"] = lang
            session.permanent = True
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")) or home_for(result.user))
        status = 401
        if result.error == "locked":
            until = to_local(result.locked_until)
            form.form_errors.append(
                _(
                    "Tài khoản tạm khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau %(time)s.",
                    time=until.strftime("%H:%M") if until else "",
                )
            )
        else:
            form.form_errors.append(_("Email hoặc mật khẩu không đúng."))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out (POST with the CSRF token, so another site cannot sign people out)."""
    services.record_logout(staff_user())
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


_PASSWORD_MESSAGES = {
    "wrong": lambda: _("Mật khẩu hiện tại không đúng."),
    "too_short": lambda: _("Mật khẩu mới quá ngắn."),
    "mismatch": lambda: _("Hai lần nhập mật khẩu mới không khớp."),
    "unchanged": lambda: _("Mật khẩu mới phải khác mật khẩu hiện tại."),
}


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other sessions of the account end."""
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        user = staff_user()
        try:
            services.change_password(
                user,
                form.current_password.data or "",
                form.new_password.data or "",
                form.confirm.data or "",
            )
        except services.PasswordError as exc:
            add_error(getattr(form, exc.field), _PASSWORD_MESSAGES[exc.message]())
            status = 400
        else:
            login_user(user)  # the session id carries the new password's stamp
            flash(_("Đã đổi mật khẩu."), "success")
            return redirect(home_for(user))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form), status


@bp.errorhandler(429)
def too_many_requests(error):
    """A friendly page when a rate limit is hit."""
    return render_template("auth/limited.html"), 429
