"""Browser test of the citizen side: web form, tracking page, staff opening the photo."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Ticket
from tests.browser.test_staff_flows import sign_in
from tests.web.staff_helpers import make_user

pytestmark = pytest.mark.browser


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_citizen_submits_tracks_and_staff_see_the_photo(page: Page, new_page):
    """Test the web form end to end: submit with a photo, track by code, staff open the photo."""
    page.goto("/")
    page.select_option("#category", label="Điện")
    page.fill("#commune-search", "tan lap")
    page.select_option("#commune", label="phường Tân Lập")
    page.fill("#address", "123 Lê Duẩn")
    page.fill("#description", "Trụ điện trước nhà nghiêng sắp đổ, nguy hiểm cho người đi đường.")
    page.fill("#phone", "0912 345 678")
    page.check("#consent")
    page.set_input_files(
        "#photos", files=[{"name": "tru-dien.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    page.locator("#report-form button[type=submit]").click()
    code_box = page.locator("#ticket-code")
    expect(code_box).to_have_text(re.compile(r"^\d{10}$"))
    code = code_box.inner_text().strip()

    page.get_by_role("link", name="Tra cứu phản ánh").click()
    page.fill("#code", code)
    page.fill("#phone_last4", "5678")
    page.locator("form button[type=submit]").click()
    result = page.locator("#track-result")
    expect(result).to_contain_text(code)
    expect(result).not_to_contain_text("0912")

    db.session.expire_all()
    ticket = db.session.execute(select(Ticket).filter_by(code=code)).scalar_one()
    assert ticket.channel == "web" and ticket.phone == "+84912345678"
    staff = new_page()
    sign_in(staff, make_user("supervisor"))
    staff.goto(f"/staff/tickets/{code}")
    photo = staff.locator("img.attachment-thumb")
    expect(photo).to_have_count(1)
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("(img) => img.naturalWidth") == 64
    assert page.errors == [] and staff.errors == []
