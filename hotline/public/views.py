"""/answers: the published answers with search; /r/<token>: rate an answer once."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from hotline.extensions import db, limiter
from hotline.forms import add_error
from hotline.labels import options
from hotline.models import Category, Ticket
from hotline.notifications.links import hash_rating_token
from hotline.staff.search import text_condition
from hotline.tickets import services
from hotline.tickets.errors import ConflictError, InvalidInput, InvalidTransition

bp = Blueprint("answers", __name__)

PAGE_SIZE = 20
COUNT_CAP = 1000
# Only what a published answer may show: never the citizen's name, phone or email.
_published = (Ticket.answer_published.is_(True), Ticket.status == "closed")


@bp.get("/answers")
def index():
    """Published answers, newest first, searchable with or without diacritics."""
    q = (request.args.get("q") or "").strip()[:200]
    category = request.args.get("category", "")
    stmt = select(Ticket).where(*_published)
    condition = text_condition(Ticket.search_text, q) if q else None
    if condition is not None:
        stmt = stmt.where(condition)
    if category.isdigit():
        stmt = stmt.where(Ticket.category_id == int(category))
    before = request.args.get("before", "")
    page_stmt = stmt
    if before.isdigit():
        page_stmt = stmt.where(Ticket.id < int(before))
    rows = (
        db.session.execute(page_stmt.order_by(Ticket.id.desc()).limit(PAGE_SIZE + 1))
        .scalars()
        .all()
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    categories = db.session.execute(
        select(Category).where(Category.active.is_(True)).order_by(Category.name_vi)
    ).scalars()
    total = db.session.scalar(
        select(func.count()).select_from(
            stmt.with_only_columns(Ticket.id).limit(COUNT_CAP + 1).subquery()
        )
    )
    return render_template(
        "answers/index.html",
        tickets=rows,
        q=q,
        category=category,
        categories=list(categories),
        total=total,
        count_cap=COUNT_CAP,
        next_before=rows[-1].id if more else None,
    )


@bp.get("/answers/<code>")
def answer(code: str):
    """One published answer."""
    ticket = db.session.execute(
        select(Ticket).where(Ticket.code == code, *_published)
    ).scalar_one_or_none()
    if ticket is None:
        abort(404)
    return render_template("answers/answer.html", ticket=ticket)


class RatingForm(FlaskForm):
    """1 to 5 stars and a comment."""

    rating = RadioField(
        _l("Mức độ hài lòng của bạn"),
        choices=options(
            [
                ("5", _l("5 — Rất hài lòng")),
                ("4", _l("4 — Hài lòng")),
                ("3", _l("3 — Bình thường")),
                ("2", _l("2 — Chưa hài lòng")),
                ("1", _l("1 — Rất không hài lòng")),
            ]
        ),
        validators=[InputRequired(message=_l("Vui lòng chọn mức độ hài lòng."))],
    )
    comment = TextAreaField(
        _l("Góp ý thêm (không bắt buộc)"),
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Gửi đánh giá"))


def _ticket_for_token(token: str) -> Ticket | None:
    if not token or len(token) > 100:
        return None
    return db.session.execute(
        select(Ticket).where(Ticket.rating_token_hash == hash_rating_token(token))
    ).scalar_one_or_none()


@bp.route("/r/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def rate(token: str):
    """The rating page from the closing SMS: once per ticket; the link is the only key."""
    ticket = _ticket_for_token(token)
    if ticket is None or ticket.status != "closed" or ticket.close_reason != "answered":
        return render_template("answers/rate_invalid.html"), 404
    if ticket.rated_at is not None:
        return render_template("answers/rate_done.html", ticket=ticket, already=True)
    form = RatingForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.rate(ticket.id, int(form.rating.data), form.comment.data or "")
        except (InvalidTransition, ConflictError):
            db.session.rollback()
            return render_template("answers/rate_done.html", ticket=ticket, already=True)
        except InvalidInput:
            db.session.rollback()
            add_error(form.rating, _("Vui lòng chọn mức độ hài lòng."))
            status = 400
        else:
            return render_template("answers/rate_done.html", ticket=ticket, already=False)
    elif request.method == "POST":
        status = 400
    return render_template("answers/rate.html", form=form, ticket=ticket), status
