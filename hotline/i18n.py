"""Locale selection: Vietnamese first, English on request."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import current_app, request, session
from flask_login import current_user


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    # Flask-Babel parses a code on every request, which looks up babel's locale files;
    # a parsed Locale is taken as it is.
    return Locale.parse(code)


def select_locale() -> Locale:
    """Pick the locale: ?lang=, then the session, then the user's, then Vietnamese."""
    return _locale(_locale_code())


def _locale_code() -> str:
    supported = current_app.config.get("LANGUAGES", ("vi", "en"))
    wanted = request.args.get("lang") if request else None
    if wanted is not None and wanted in supported:
        session["lang"] = wanted
        return wanted
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "vi")
    if not request or not request.cookies:
        # No cookie, no session and no signed-in user: Twilio's and the carriers' webhooks,
        # API clients, a first visit. Nothing else to read.
        return default
    if session.get("lang") in supported:
        return session["lang"]
    user_locale = getattr(current_user, "locale", None)
    if user_locale is not None and user_locale in supported:
        return user_locale
    return default
