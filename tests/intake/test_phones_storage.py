"""Unit tests of the phone normaliser and the attachment store."""

from __future__ import annotations

import pytest
from flask import Flask

from hotline.phones import can_receive_sms, last_digits, normalize_phone
from hotline.storage import LocalStore, StorageError, init_storage


def test_vietnamese_numbers_become_e164():
    """Test that the ways people write a Vietnamese mobile number all give +84..."""
    for raw in ("0912345678", "+84 912 345 678", "84912345678", "0084912345678", "091-234-5678"):
        assert normalize_phone(raw) == "+84912345678", raw


def test_invalid_numbers_are_none():
    """Test that what is not a valid number gives None."""
    for raw in ("", None, "12345", "abc", "+84 12", "0" * 50):
        assert normalize_phone(raw) is None, raw


def test_landline_and_foreign_numbers():
    """Test that a Đắk Lắk landline and a foreign number are kept in E.164."""
    assert normalize_phone("0262 3812 345") == "+842623812345"
    assert normalize_phone("+1 415 555 2671") == "+14155552671"


def test_only_mobile_numbers_receive_sms():
    """Test that mobiles can receive an SMS, and landlines, bad numbers and None cannot."""
    assert can_receive_sms("+84912345678")
    assert can_receive_sms("+84386123456")
    assert not can_receive_sms("+842623812345")  # a Đắk Lắk landline
    assert not can_receive_sms("+84123")
    assert not can_receive_sms("")
    assert not can_receive_sms(None)


def test_last_digits():
    """Test the last-4-digits helper used by the tracking page."""
    assert last_digits("+84912345678") == "5678"
    assert last_digits(None) == ""


def test_store_uses_random_names_and_refuses_foreign_keys(tmp_path):
    """Test that keys are random, files round-trip, and a crafted key cannot escape the root."""
    store = LocalStore(tmp_path)
    first, second = store.save(b"abc", "jpg"), store.save(b"abc", "jpg")
    assert first != second
    with store.open(first) as handle:
        assert handle.read() == b"abc"
    assert store.exists(first)
    store.delete(first)
    assert not store.exists(first)
    for key in ("../etc/passwd", "ab/../../x.jpg", "/etc/passwd", "ab/notrandom.jpg"):
        with pytest.raises(StorageError):
            store.open(key)


def test_upload_dir_inside_static_is_refused(tmp_path):
    """Test that the store refuses a directory the static route would serve."""
    app = Flask(__name__, static_folder=str(tmp_path / "static"))
    app.config["UPLOAD_DIR"] = str(tmp_path / "static" / "uploads")
    with pytest.raises(RuntimeError, match="static"):
        init_storage(app)
