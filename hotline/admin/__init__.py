"""/admin: agencies, users, categories and keywords, SLA policies, calendar days; all audited."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from hotline.admin import reference_views, user_views, views  # noqa: E402,F401
