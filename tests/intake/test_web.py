"""Tests of the public web form and the tracking page: validation, photos, CSRF, privacy."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from hotline.extensions import db
from hotline.models import Attachment, InboundMessage, Ticket
from hotline.tickets.codes import damm_digit
from hotline.timeutil import utcnow
from tests import factories
from tests.intake.conftest import (
    csrf_token,
    make_limited_app,
    restore_limiter,
    ticket_count,
)

GOOD = {
    "category": "giao-thong",
    "commune": "phuong-tan-lap",
    "address": "Số 12 đường Lê Duẩn",
    "description": "Ổ gà lớn giữa đường, xe máy đi qua bị ngã nhiều lần.",
    "name": "Nguyễn Văn An",
    "phone": "0912345678",
    "email": "an@example.vn",
    "consent": "y",
}


def image_bytes(fmt: str = "JPEG", size=(64, 48)) -> bytes:
    """Return a small real image in FMT."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def post_form(client, data: dict, files: list[tuple[bytes, str]] = ()):
    """POST the report form with a fresh CSRF token and optional photo files."""
    form = {**data, "csrf_token": csrf_token(client)}
    if files:
        form["photos"] = [(io.BytesIO(content), name) for content, name in files]
    builder = EnvironBuilder(path="/", method="POST", data=form)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        # Werkzeug spools a large test body to a temporary file it never closes itself.
        environ["wsgi.input"].close()
        builder.close()


def field_errors(response) -> dict[str, list[str]]:
    """Return the error texts shown next to each field, by field id."""
    html = response.get_data(as_text=True)
    found = {}
    for field, block in re.findall(
        r'id="([a-z_0-9]+)-errors"[^>]*>(.*?)</div>\s*</div>', html, re.S
    ):
        found[field] = [t.strip() for t in re.findall(r"<div>(.*?)</div>", block + "</div>", re.S)]
    for message in re.findall(r'class="invalid-feedback d-block">([^<]+)</div>', html):
        found.setdefault("consent", []).append(message.strip())
    return found


def test_form_page_lists_every_commune_with_folded_search_keys(client):
    """Test that the form offers all 102 communes, each with its unaccented search key."""
    html = client.get("/").get_data(as_text=True)
    options = re.findall(r'<option value="([a-z0-9-]+)" data-search="([a-z0-9 ]+)"', html)
    assert len(options) == 102
    assert ("phuong-buon-ma-thuot", "phuong buon ma thuot") in options
    assert 'src="/static/js/commune-search.js"' in html
    assert "<script>" not in html  # no inline script: a strict CSP comes later


def test_valid_report_is_stored_and_code_shown(client, redis_conn):
    """Test that a valid report is stored (phone in E.164) and the success page shows its code."""
    for phone in ("0912345678", "+84 912 345 678", "84912345678"):
        response = post_form(client, {**GOOD, "phone": phone})
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        code = re.search(r'id="ticket-code">(\d{10})<', page).group(1)
        ticket = db.session.execute(select(Ticket).filter_by(code=code)).scalar_one()
        assert ticket.phone == "+84912345678", phone
    assert ticket.channel == "web"
    assert ticket.category.code == "giao-thong"
    assert ticket.commune.code == "phuong-tan-lap"
    assert ticket.contact_consent is True
    assert ticket_count() == 3


VALIDATION_CASES = [
    ({"description": ""}, "description", "Xin nhập nội dung phản ánh."),
    ({"description": "ngắn"}, "description", "Nội dung phản ánh cần từ 10 đến 4.000 ký tự."),
    (
        {"description": "x" * 4001},
        "description",
        "Nội dung phản ánh cần từ 10 đến 4.000 ký tự.",
    ),
    ({"phone": "12345"}, "phone", "Số điện thoại không hợp lệ."),
    ({"email": "an@"}, "email", "Địa chỉ thư điện tử không hợp lệ."),
    ({"category": "khong-co"}, "category", "Xin chọn lĩnh vực trong danh sách."),
    ({"commune": "xa-khong-co"}, "commune", "Xin chọn xã, phường trong danh sách."),
    ({"address": "a" * 501}, "address", "Địa chỉ tối đa 500 ký tự."),
    ({"name": "a" * 256}, "name", "Họ tên tối đa 255 ký tự."),
    ({"phone": "", "email": ""}, "consent", "Xin để lại số điện thoại hoặc thư điện tử"),
]


def test_each_validation_message_is_shown_next_to_its_field(client):
    """Test that each invalid field gets its Vietnamese message, the rest of the text is kept."""
    for changes, field, message in VALIDATION_CASES:
        response = post_form(client, {**GOOD, **changes})
        assert response.status_code == 400, field
        errors = field_errors(response)
        assert any(message in text for text in errors.get(field, [])), (field, errors)
        html = response.get_data(as_text=True)
        if field != "address":
            assert 'value="Số 12 đường Lê Duẩn"' in html  # typed text kept
    assert ticket_count() == 0


def test_photos_are_checked_and_stored_outside_static_under_random_names(client, app):
    """Test that JPEG, PNG and WebP photos are accepted by content and stored privately."""
    files = [
        (image_bytes("JPEG"), "nha-toi.jpg"),
        (image_bytes("PNG"), "duong.png"),
        (image_bytes("WEBP"), "c.bin"),  # the name does not matter, the content does
    ]
    assert post_form(client, GOOD, files).status_code == 302
    rows = db.session.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
    assert [(r.kind, r.content_type) for r in rows] == [
        ("photo", "image/jpeg"),
        ("photo", "image/png"),
        ("photo", "image/webp"),
    ]
    root = Path(app.config["UPLOAD_DIR"]).resolve()
    static = Path(app.static_folder).resolve()
    for row in rows:
        path = root / row.storage_key
        assert path.is_file()
        assert static not in path.parents
        assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}\.(jpg|png|webp)", row.storage_key)
        assert "nha-toi" not in row.storage_key and "duong" not in row.storage_key


def test_fake_jpeg_is_rejected(client):
    """Test that a file named .jpg whose bytes are not a valid photo is refused."""
    cases = [
        (b"this is a text file, not a photo", "Chỉ nhận ảnh JPEG, PNG hoặc WebP."),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "Tệp ảnh bị hỏng hoặc không phải là ảnh."),
        (b"GIF89a" + b"\x00" * 100, "Chỉ nhận ảnh JPEG, PNG hoặc WebP."),
    ]
    for content, message in cases:
        response = post_form(client, GOOD, [(content, "photo.jpg")])
        assert response.status_code == 400
        assert message in field_errors(response)["photos"]
    assert ticket_count() == 0


def test_decompression_bomb_is_rejected(client):
    """Test that a tiny PNG declaring 100 million pixels is refused without decoding it."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 100_000
    response = post_form(client, GOOD, [(buffer.getvalue(), "bomb.png")])
    assert response.status_code == 400
    assert "Ảnh có kích thước quá lớn." in field_errors(response)["photos"]


def test_photo_over_5_mb_is_rejected(client):
    """Test that a photo over 5 MB is refused."""
    big = image_bytes("PNG") + b"\x00" * (5 * 1024 * 1024)
    response = post_form(client, GOOD, [(big, "big.png")])
    assert response.status_code == 400
    assert "Mỗi ảnh tối đa 5 MB." in field_errors(response)["photos"]


def test_more_than_three_photos_is_rejected(client):
    """Test that a fourth photo is refused."""
    files = [(image_bytes("JPEG"), f"{i}.jpg") for i in range(4)]
    response = post_form(client, GOOD, files)
    assert response.status_code == 400
    assert "Chỉ gửi được tối đa 3 ảnh." in field_errors(response)["photos"]


def test_csrf_is_enforced(client):
    """Test that a post without a valid CSRF token is refused and stores nothing."""
    client.get("/")
    response = client.post("/", data={**GOOD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in response.get_data(as_text=True)
    response = client.post("/", data=GOOD)
    assert response.status_code == 400
    assert ticket_count() == 0


def test_honeypot_drops_the_report(client):
    """Test that a filled honeypot field stores nothing but looks like success to the bot."""
    response = post_form(client, {**GOOD, "website": "http://spam.example"})
    assert response.status_code == 302
    assert ticket_count() == 0


def test_double_submit_makes_one_ticket(client):
    """Test that posting the same form twice (double click) creates one ticket."""
    token = csrf_token(client)
    html = client.get("/").get_data(as_text=True)
    submission = re.search(r'name="submission_id" type="hidden" value="([0-9a-f]+)"', html).group(1)
    data = {**GOOD, "csrf_token": token, "submission_id": submission}
    assert client.post("/", data=data).status_code == 302
    assert client.post("/", data=data).status_code == 302
    assert ticket_count() == 1
    assert db.session.execute(select(InboundMessage.channel)).scalar_one() == "web"


def test_report_form_is_rate_limited_per_ip():
    """Test that the per-IP limit answers 429 in Vietnamese once exceeded."""
    limited = make_limited_app(INTAKE_WEB_RATE_LIMIT="2 per minute")
    try:
        client = limited.test_client()
        answers = [post_form(client, {**GOOD, "description": ""}) for _ in range(3)]
        assert [r.status_code for r in answers] == [400, 400, 429]
        assert "Quá nhiều yêu cầu" in answers[-1].get_data(as_text=True)
        # Another address is not affected.
        elsewhere = limited.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "10.9.8.7"
        other = post_form(elsewhere, {**GOOD, "description": ""})
        assert other.status_code == 400
    finally:
        restore_limiter(limited)


# --- tracking ---------------------------------------------------------------------------


def track(client, code: str, last4: str = ""):
    """POST the tracking form."""
    token = csrf_token(client, "/track")
    return client.post("/track", data={"code": code, "phone_last4": last4, "csrf_token": token})


def test_track_shows_status_timeline_and_answer_without_personal_data(client):
    """Test that code + last 4 digits show status and answer, never name, phone or text."""
    ticket = factories.ticket(
        status="closed",
        close_reason="answered",
        public_answer="Đã vá ổ gà ngày 20/11.",
        citizen_name="Trần Thị Bình",
        email="binh@example.vn",
        description="Ổ gà trước nhà số 5, gọi tôi 0912345678",
        closed_at=utcnow(),
    )
    html = track(client, ticket.code, "5678").get_data(as_text=True)
    assert 'id="track-result"' in html
    assert "Đã đóng" in html
    assert "Đã vá ổ gà ngày 20/11." in html
    for private in ("Trần Thị Bình", "binh@example.vn", "0912345678", "+84912345678", "Ổ gà trước"):
        assert private not in html


def test_track_not_found_is_uniform(client):
    """Test that a wrong phone suffix and an unknown code give the same answer."""
    ticket = factories.ticket(status="assigned")
    body = "269999999"
    unknown = body + str(damm_digit(body))
    answers = [
        track(client, ticket.code, "0000"),
        track(client, ticket.code, ""),
        track(client, unknown, "5678"),
    ]

    def message(response):
        html = response.get_data(as_text=True)
        return response.status_code, re.search(r'id="track-not-found">([^<]+)<', html).group(1)

    assert len({message(r) for r in answers}) == 1
    assert all('id="track-result"' not in r.get_data(as_text=True) for r in answers)


def test_ticket_without_phone_is_found_by_code_alone(client):
    """Test that a ticket given without a phone is tracked with its code only."""
    ticket = factories.ticket(status="received", phone=None)
    html = track(client, ticket.code).get_data(as_text=True)
    assert "Đã tiếp nhận" in html


def test_track_bad_code_format_is_a_field_error(client):
    """Test that a code failing its check digit is reported on the field, not as not-found."""
    response = track(client, "2612345678" if damm_digit("2612345678") else "2612345679")
    assert response.status_code == 400
    assert "Mã số không đúng" in response.get_data(as_text=True)


def test_track_is_rate_limited():
    """Test that the tracking form has its own per-IP limit."""
    limited = make_limited_app(INTAKE_TRACK_RATE_LIMIT="2 per minute")
    try:
        client = limited.test_client()
        statuses = [track(client, "1", "").status_code for _ in range(3)]
        assert statuses == [400, 400, 429]
    finally:
        restore_limiter(limited)


def test_upload_over_the_request_limit_is_413_in_vietnamese(client, app):
    """Test that a body over MAX_CONTENT_LENGTH answers the form with a clear message."""
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    try:
        response = post_form(client, GOOD, [(image_bytes("PNG") + b"\0" * 2_000_000, "a.png")])
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024
    assert response.status_code == 413
    assert "Tổng dung lượng ảnh quá lớn" in response.get_data(as_text=True)
    assert ticket_count() == 0
