"""Locale selection: Vietnamese first, English on request."""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user


def select_locale() -> str:
    """Pick the locale: ?lang=, then the session, then the user's, then Vietnamese."""
    supported = current_app.config.get("LANGUAGES", ("vi", "en"))
    wanted = request.args.get("lang") if request else None
    if wanted in supported:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in supported:
        return session["lang"]
    user_locale = getattr(current_user, "locale", None)
    if user_locale in supported:
        return user_locale
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "vi")
