"""Jinja helpers available in every template."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import get_locale

from hotline.province import province_json
from hotline.timeutil import to_local


def init_templating(app: Flask) -> None:
    """Register the template globals and filters."""

    @app.context_processor
    def _globals():
        return {
            "current_locale": lambda: str(get_locale() or "vi"),
            "province_name": lambda: province_json("province.json").get("name", ""),
            "has_endpoint": lambda name: name in current_app.view_functions,
        }

    @app.template_filter("localtime")
    def _localtime(value, fmt: str = "%d/%m/%Y %H:%M"):
        local = to_local(value)
        return local.strftime(fmt) if local else ""
