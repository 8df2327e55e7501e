"""A province's configuration: data files under config/provinces/<name>/."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app


def province_folder(name: str | None = None) -> Path:
    """Return the data folder of province NAME (default: the app's HOTLINE_PROVINCE)."""
    cfg = current_app.config
    return Path(cfg["PROVINCES_DIR"]) / (name or cfg["HOTLINE_PROVINCE"])


@lru_cache(maxsize=16)
def _read_json(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def province_json(filename: str) -> dict[str, Any]:
    """Return a JSON file of the app's province (cached: these files change with a deploy)."""
    return _read_json(str(province_folder() / filename))
