"""The public web forms: report a problem, track a ticket (Flask-WTF, CSRF on)."""

from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass

import filetype
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from PIL import Image, ImageOps, JpegImagePlugin
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from hotline.intake.common import active_categories, all_communes, commune_search_key
from hotline.phones import normalize_phone
from hotline.tickets.codes import clean_code, is_valid_code

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# More pixels than any phone camera gives: a bigger image is a decompression bomb.
MAX_PHOTO_PIXELS = 60_000_000
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
ORIENTATION = 0x0112  # the EXIF tag of how the camera was held


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo whose content was verified: bytes, MIME type, file extension, pixel size."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def check_photo(data: bytes) -> CheckedPhoto:
    """Return DATA as a verified photo without its metadata, or raise ValueError with the
    reason for the citizen.

    The type comes from the bytes (magic numbers, then Pillow), never from the file name.
    The photo kept is re-encoded from its pixels (`strip_metadata`): a phone's photo carries
    where it was taken and by which device, and staff and agencies see these files.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise ValueError(str(_l("Mỗi ảnh tối đa 5 MB.")))
    kind = filetype.guess(data)
    if kind is None or kind.mime not in PHOTO_TYPES:
        raise ValueError(str(_l("Chỉ nhận ảnh JPEG, PNG hoặc WebP.")))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PHOTO_PIXELS:
                    raise ValueError(str(_l("Ảnh có kích thước quá lớn.")))
                if image.format != _PIL_FORMATS[kind.mime]:
                    raise ValueError(str(_l("Chỉ nhận ảnh JPEG, PNG hoặc WebP.")))
                image.verify()
            # `verify` leaves the image unusable: the pixels are read from a second open.
            with Image.open(io.BytesIO(data)) as image:
                clean, width, height = strip_metadata(image)
    except ValueError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(str(_l("Ảnh có kích thước quá lớn."))) from None
    except Exception:  # Pillow raises many types for a broken file
        raise ValueError(str(_l("Tệp ảnh bị hỏng hoặc không phải là ảnh."))) from None
    return CheckedPhoto(clean, kind.mime, PHOTO_TYPES[kind.mime], width, height)


def strip_metadata(image: Image.Image) -> tuple[bytes, int, int]:
    """Return IMAGE re-encoded in its own format with no metadata, and its width and height.

    EXIF (GPS position, time, camera and phone model, the owner's name), XMP, IPTC and PNG
    text chunks are dropped; the colour profile is kept. The EXIF orientation is applied to
    the pixels first, so a phone's upright photo stays upright without its tag. An animated
    WebP or PNG keeps its first frame: a report's photo is a still.
    """
    turned = image.getexif().get(ORIENTATION, 1) != 1
    # `exif_transpose` copies an image even when it has nothing to turn.
    upright = ImageOps.exif_transpose(image) if turned else image
    upright.load()
    options: dict = {}
    if image.info.get("icc_profile"):
        options["icc_profile"] = image.info["icc_profile"]
    # (A JPEG is opened as a JpegImageFile, the class that holds its quantisation tables.)
    if image.format == "JPEG" and isinstance(image, JpegImagePlugin.JpegImageFile):
        # The photo's own quantisation tables and chroma subsampling, turned or not: the
        # copy keeps the original's quality and about its size.
        options["qtables"] = image.quantization
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling != -1:
            options["subsampling"] = sampling
    elif image.format == "WEBP":
        options["quality"] = 90
    out = io.BytesIO()
    # No exif=, xmp= or pnginfo= is passed: Pillow writes none of them by itself.
    upright.save(out, image.format, **options)
    return out.getvalue(), upright.width, upright.height


def _phone_check(form: FlaskForm, field: StringField) -> None:
    if field.data and field.data.strip() and normalize_phone(field.data) is None:
        raise ValidationError(
            _l("Số điện thoại không hợp lệ. Ví dụ: 0912345678 hoặc +84 912 345 678.")
        )


class ReportForm(FlaskForm):
    """A citizen's report."""

    # Choices are checked by _known_choice (WTForms has no Vietnamese message of its own).
    category = SelectField(_l("Lĩnh vực"), choices=[], default="", validate_choice=False)
    commune = SelectField(_l("Xã, phường"), choices=[], default="", validate_choice=False)
    address = StringField(
        _l("Địa chỉ cụ thể"),
        validators=[Length(max=500, message=_l("Địa chỉ tối đa 500 ký tự."))],
    )
    description = TextAreaField(
        _l("Nội dung phản ánh"),
        validators=[
            DataRequired(message=_l("Xin nhập nội dung phản ánh.")),
            Length(
                min=10,
                max=4000,
                message=_l("Nội dung phản ánh cần từ 10 đến 4.000 ký tự."),
            ),
        ],
    )
    name = StringField(
        _l("Họ và tên"), validators=[Length(max=255, message=_l("Họ tên tối đa 255 ký tự."))]
    )
    phone = StringField(_l("Số điện thoại"), validators=[_phone_check])
    email = EmailField(
        _l("Thư điện tử"),
        validators=[
            Optional(),
            Length(max=255, message=_l("Địa chỉ thư điện tử quá dài.")),
            Email(message=_l("Địa chỉ thư điện tử không hợp lệ."), check_deliverability=False),
        ],
    )
    consent = BooleanField(_l("Tôi đồng ý để cơ quan chức năng liên hệ với tôi về phản ánh này"))
    photos = MultipleFileField(_l("Ảnh (tối đa 3 ảnh, mỗi ảnh tối đa 5 MB)"))
    # Honeypot: hidden from people, filled in by bots.
    website = StringField(_l("Trang web"))
    submission_id = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        categories = [(c.code, c.name_vi) for c in active_categories()]
        self.category.choices = [("", _l("Chưa rõ / lĩnh vực khác")), *categories]
        self.category_codes = {code for code, _name in categories}
        self.commune_options = [
            (c.code, c.full_name, commune_search_key(c)) for c in all_communes()
        ]
        self.commune.choices = [("", _l("Chọn xã, phường"))] + [
            (code, label) for code, label, _key in self.commune_options
        ]
        if not self.submission_id.data or not _is_uuid(self.submission_id.data):
            self.submission_id.data = uuid.uuid4().hex
        self.checked_photos: list[CheckedPhoto] = []

    def validate_category(self, field: SelectField) -> None:
        """The field must be one of the listed categories (or none)."""
        if field.data and field.data not in self.category_codes:
            raise ValidationError(_l("Xin chọn lĩnh vực trong danh sách."))

    def validate_commune(self, field: SelectField) -> None:
        """The commune must be one of the province's (or none)."""
        if field.data and field.data not in {code for code, _label, _key in self.commune_options}:
            raise ValidationError(_l("Xin chọn xã, phường trong danh sách."))

    def validate_photos(self, field: MultipleFileField) -> None:
        """Check the count, size and content of each photo; keep the verified bytes."""
        files = [f for f in (field.data or []) if f and getattr(f, "filename", "")]
        if len(files) > MAX_PHOTOS:
            raise ValidationError(_l("Chỉ gửi được tối đa 3 ảnh."))
        checked = []
        for storage in files:
            data = storage.stream.read(MAX_PHOTO_BYTES + 1)
            try:
                checked.append(check_photo(data))
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
        self.checked_photos = checked

    def validate_consent(self, field: BooleanField) -> None:
        """Consent to be contacted needs a way to contact."""
        if field.data and not (self.phone.data or "").strip() and not (self.email.data or ""):
            raise ValidationError(_l("Xin để lại số điện thoại hoặc thư điện tử để được liên hệ."))


def _is_uuid(value: str) -> bool:
    try:
        return uuid.UUID(hex=value).hex == value
    except ValueError:
        return False


class TrackForm(FlaskForm):
    """Look a ticket up by its code and the last 4 digits of the phone given with it."""

    code = StringField(
        _l("Mã số phản ánh"),
        validators=[DataRequired(message=_l("Xin nhập mã số phản ánh."))],
    )
    phone_last4 = StringField(
        _l("4 số cuối điện thoại đã khai báo"),
        validators=[Optional(), Length(min=4, max=4, message=_l("Xin nhập đúng 4 chữ số."))],
    )

    def validate_code(self, field: StringField) -> None:
        """A code is 10 digits whose last one checks the others."""
        if not is_valid_code(clean_code(field.data)):
            raise ValidationError(
                _l("Mã số không đúng: mã gồm 10 chữ số, có trong tin nhắn hoặc trang tiếp nhận.")
            )

    def validate_phone_last4(self, field: StringField) -> None:
        """Four digits."""
        if field.data and not field.data.strip().isdigit():
            raise ValidationError(_l("Xin nhập đúng 4 chữ số."))
