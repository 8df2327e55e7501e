"""Photo uploads on the public form: what is refused, with which message, and nothing kept.

`tests/intake/test_web.py` covers the basics (text named .jpg, a truncated JPEG, GIF, a
10,000 x 10,000 PNG, over 5 MB, a fourth photo, the 413 of the whole request). Here: active
content disguised as a photo (PHP, HTML, SVG with script, a PDF), bombs that only declare
their size, path tricks and odd file names, and, for every refusal, that no ticket, no
attachment row and no file is left behind. Last, what is kept: a photo without its metadata.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.extensions import db
from hotline.models import Attachment
from tests.intake.conftest import ticket_count
from tests.intake.test_web import GOOD, field_errors, image_bytes, post_form

WRONG_TYPE = "Chỉ nhận ảnh JPEG, PNG hoặc WebP."
BROKEN = "Tệp ảnh bị hỏng hoặc không phải là ảnh."
TOO_BIG = "Ảnh có kích thước quá lớn."


def stored_files(app) -> set[Path]:
    """Every file under UPLOAD_DIR."""
    root = Path(app.config["UPLOAD_DIR"])
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares WIDTH x HEIGHT but that carries almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is rewritten to declare WIDTH x HEIGHT."""
    data = bytearray(image_bytes("JPEG", (16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


PHP = b"<?php system($_GET['c']); ?>"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.domain)</script></svg>"
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"

REFUSED = [
    pytest.param(PHP, "anh.jpg", WRONG_TYPE, id="php-named-jpg"),
    pytest.param(HTML, "anh.jpg", WRONG_TYPE, id="html-named-jpg"),
    pytest.param(SVG, "anh.jpg", WRONG_TYPE, id="svg-with-script-named-jpg"),
    pytest.param(SVG, "anh.svg", WRONG_TYPE, id="svg"),
    pytest.param(PDF, "anh.png", WRONG_TYPE, id="pdf-named-png"),
    pytest.param(b"\xff\xd8\xff\xe0" + PHP, "anh.jpg", BROKEN, id="jpeg-magic-then-php"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + HTML, "anh.png", BROKEN, id="png-magic-then-html"),
    pytest.param(b"", "anh.jpg", WRONG_TYPE, id="empty-file"),
    pytest.param(png_declaring(100_000, 100_000), "bom.png", TOO_BIG, id="png-declaring-1e10-px"),
    pytest.param(png_declaring(60_000, 1_001), "bom.png", TOO_BIG, id="png-just-over-the-cap"),
    pytest.param(jpeg_declaring(65_000, 65_000), "bom.jpg", TOO_BIG, id="jpeg-declaring-4e9-px"),
]


@pytest.mark.parametrize(("content", "name", "message"), REFUSED)
def test_disguised_or_bomb_uploads_are_refused_and_nothing_is_kept(
    client, app, content, name, message
):
    """Test that active content named as a photo, and images that only declare a huge size,
    are refused next to the photo field, and leave no ticket, attachment or file."""
    before = stored_files(app)
    response = post_form(client, GOOD, [(content, name)])
    assert response.status_code == 400
    assert message in field_errors(response)["photos"]
    assert ticket_count() == 0
    assert db.session.execute(select(func.count(Attachment.id))).scalar_one() == 0
    assert stored_files(app) == before


def test_one_bad_photo_among_good_ones_refuses_the_whole_report(client, app):
    """Test that a good photo posted with a bad one is not kept either."""
    before = stored_files(app)
    response = post_form(client, GOOD, [(image_bytes("JPEG"), "a.jpg"), (PHP, "b.jpg")])
    assert response.status_code == 400
    assert WRONG_TYPE in field_errors(response)["photos"]
    assert ticket_count() == 0
    assert stored_files(app) == before


TRICKY_NAMES = [
    "../../etc/passwd.jpg",
    "..\\..\\windows\\win.ini.jpg",
    "/etc/cron.d/x.jpg",
    "a\x00.php.jpg",
    "x" * 5000 + ".jpg",
    "ảnh chụp ổ gà đường Lê Duẩn 🙂.jpg",
    ".htaccess",
    "shell.php",
    "",
]


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_file_names_never_reach_the_disk_or_the_database(client, app, name):
    """Test that a real photo with a hostile or odd file name is stored under a random key
    inside UPLOAD_DIR, and the name is kept nowhere."""
    root = Path(app.config["UPLOAD_DIR"]).resolve()
    before = stored_files(app)
    response = post_form(client, GOOD, [(image_bytes("PNG"), name)])
    if name == "":
        # A file part without a name is what browsers send for an empty file input.
        assert response.status_code == 302
        assert db.session.execute(select(func.count(Attachment.id))).scalar_one() == 0
        return
    assert response.status_code == 302
    row = db.session.execute(select(Attachment)).scalar_one()
    new = stored_files(app) - before
    assert len(new) == 1
    path = new.pop().resolve()
    assert root in path.parents
    assert path.relative_to(root).as_posix() == row.storage_key
    assert row.content_type == "image/png" and row.storage_key.endswith(".png")
    kept = f"{row.storage_key} {row.source_url} {row.data}"
    for fragment in ("passwd", "windows", "cron", "php", "htaccess", "xxxxx", "ảnh", ".."):
        assert fragment not in kept


def test_declared_dimensions_are_refused_before_decoding(app):
    """Test that the bomb check goes by the size the header declares: the 10-gigapixel PNG is
    refused at once, without decoding (or allocating) its pixels."""
    import time

    from hotline.intake.forms import check_photo

    started = time.perf_counter()
    with app.test_request_context("/"), pytest.raises(ValueError, match=TOO_BIG):
        check_photo(png_declaring(100_000, 100_000))
    assert time.perf_counter() - started < 0.5


# What a phone writes into a photo: where, when, with what, by whom, and how it was held.
GPS_IFD = 0x8825
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="12,40.1N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
OWNER = "Nguyen Van An"


def phone_photo(fmt: str, orientation: int = 6) -> bytes:
    """A 64 x 32 photo in FMT, left half red, with GPS, device, owner and an orientation
    tag (6: the camera was turned, the pixels must be turned 90 degrees clockwise)."""
    from PIL import Image, PngImagePlugin

    image = Image.new("RGB", (64, 32), (20, 20, 220))
    image.paste((220, 20, 20), (0, 0, 32, 32))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "PhoneModel X"
    exif[0x013B] = OWNER
    exif[GPS_IFD] = {1: "N", 2: (12.0, 40.0, 5.5), 3: "E", 4: (108.0, 2.0, 1.0)}
    options: dict = {"exif": exif.tobytes()}
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Author", OWNER)
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
        options["pnginfo"] = text
    else:
        options["xmp"] = XMP
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "a.jpg"), ("PNG", "b.png"), ("WEBP", "c.webp")])
def test_stored_photos_carry_no_metadata_and_stand_upright(client, app, fmt, name):
    """Test that a photo is kept without its EXIF (GPS, device, owner), XMP and text chunks,
    turned as its orientation tag said, and described by the row as it is stored."""
    from PIL import Image

    original = phone_photo(fmt)
    with Image.open(io.BytesIO(original)) as image:  # the sample really carries it all
        assert image.getexif()[0x013B] == OWNER and image.getexif().get_ifd(GPS_IFD)
    assert post_form(client, GOOD, [(original, name)]).status_code == 302
    row = db.session.execute(select(Attachment)).scalar_one()
    stored = (Path(app.config["UPLOAD_DIR"]) / row.storage_key).read_bytes()
    for trace in (OWNER.encode(), b"PhoneModel", b"GPS", b"xmpmeta", b"Exif"):
        assert trace not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == fmt
        assert len(image.getexif()) == 0
        assert not {"exif", "xmp", "Author", "XML:com.adobe.xmp"} & set(image.info)
        # Turned clockwise: 32 wide, 64 high, the red half now on top.
        assert image.size == (32, 64)
        red, _green, blue = image.convert("RGB").getpixel((16, 8))
        assert red > 150 and blue < 100
    assert row.size == len(stored)
    assert row.data == {"width": 32, "height": 64}


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_jpeg_keeps_its_quality_and_colour_profile(app, orientation):
    """Test that a JPEG, turned or not, is re-encoded with its own quantisation tables and
    subsampling (no second, harsher round of compression) and keeps its ICC profile, its
    metadata gone."""
    from PIL import Image, ImageCms, JpegImagePlugin

    from hotline.intake.forms import check_photo

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x013B] = OWNER
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 30)).save(
        buffer, "JPEG", quality=60, subsampling=1, exif=exif.tobytes(), icc_profile=profile
    )
    with app.test_request_context("/"):
        photo = check_photo(buffer.getvalue())
    with (
        Image.open(io.BytesIO(buffer.getvalue())) as before,
        Image.open(io.BytesIO(photo.data)) as after,
    ):
        assert after.quantization == before.quantization
        assert JpegImagePlugin.get_sampling(after) == JpegImagePlugin.get_sampling(before) == 1
        assert after.info.get("icc_profile") == profile
        assert len(after.getexif()) == 0 and OWNER.encode() not in photo.data
    assert (photo.width, photo.height) == ((40, 30) if orientation == 1 else (30, 40))
