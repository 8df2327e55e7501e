"""Tests of the English catalog and the language switch (Vietnamese by default)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.web.staff_helpers import make_ticket

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "hotline" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{\d*\}")


def _catalog():
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="en")


def test_english_catalog_is_complete_and_not_fuzzy():
    """Test that every message has an English translation, none fuzzy, placeholders kept."""
    catalog = _catalog()
    assert not catalog.fuzzy
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if "fuzzy" in message.flags or not all(strings):
            problems.append(f"untranslated or fuzzy: {ids[0]!r}")
            continue
        for msgid, msgstr in zip(ids, strings, strict=False):
            if sorted(_PLACEHOLDER.findall(msgid)) != sorted(_PLACEHOLDER.findall(msgstr)):
                problems.append(f"placeholders differ: {msgid!r} -> {msgstr!r}")
    assert problems == []
    assert len(catalog) > 400


def test_staff_pages_texts_are_all_in_the_catalog():
    """Test that every text of the staff, admin, sign-in and answers code is in the catalog."""
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog() if m.id}
    method_map = [
        ("auth/**.py", "python"),
        ("staff/**.py", "python"),
        ("admin/**.py", "python"),
        ("public/**.py", "python"),
        ("templates/auth/**.html", "jinja2"),
        ("templates/staff/**.html", "jinja2"),
        ("templates/admin/**.html", "jinja2"),
        ("templates/answers/**.html", "jinja2"),
        ("templates/base.html", "jinja2"),
    ]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "hotline"), method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    assert len(found) > 300
    assert sorted(found - known) == []


def test_vietnamese_by_default_and_english_on_request(signed_in, anon):
    """Test that pages are Vietnamese by default, English with ?lang=en, and the choice sticks."""
    assert "Đăng nhập dành cho cán bộ" in anon.get("/login").get_data(as_text=True)
    english = anon.get("/login?lang=en").get_data(as_text=True)
    assert "Staff sign-in" in english and 'lang="en"' in english
    assert "Đăng nhập dành cho cán bộ" not in english
    assert "Staff sign-in" in anon.get("/login").get_data(as_text=True)  # kept in the session
    assert "Đăng nhập dành cho cán bộ" in anon.get("/login?lang=vi").get_data(as_text=True)

    ticket = make_ticket("assigned")
    client, _ = signed_in("agent", "dien-luc")
    queue = client.get("/staff/tickets?lang=en").get_data(as_text=True)
    assert "Tickets" in queue and "Nearest deadline" in queue and "Assigned" in queue
    page = client.get(f"/staff/tickets/{ticket.code}").get_data(as_text=True)
    assert "Acknowledge" in page and "Request a transfer" in page and "History" in page
    assert "Tiếp nhận xử lý" not in page
