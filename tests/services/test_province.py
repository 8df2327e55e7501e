"""Tests of loading a province: idempotent upsert, clear errors for malformed files."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from hotline.extensions import db
from hotline.models import Agency, CalendarDay, Category, Commune, RoutingKeyword, SlaPolicy
from hotline.province import province_folder


def _counts() -> dict[str, int]:
    return {
        m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
        for m in (Agency, Commune, Category, RoutingKeyword, SlaPolicy, CalendarDay)
    }


@pytest.mark.mutates_reference
def test_load_twice_gives_the_same_rows(runner):
    """Test that load-province run twice leaves the same counts, with 102 communes."""
    first = runner.invoke(args=["hotline", "load-province", "daklak", "--quiet"])
    assert first.exit_code == 0, first.output
    before = _counts()
    second = runner.invoke(args=["hotline", "load-province", "daklak", "--quiet"])
    assert second.exit_code == 0, second.output
    assert _counts() == before
    assert before["communes"] == 102
    assert before["agencies"] == 18 + 102  # provincial bodies + one committee per commune
    assert "communes: 102 (0 new)" in second.output
    tan_lap = db.session.scalar(select(Commune).filter_by(code="phuong-tan-lap"))
    assert tan_lap.agency.name == "UBND phường Tân Lập"


@pytest.mark.parametrize(
    ("filename", "bad_line", "needle"),
    [
        ("communes.csv", "Ea Bad,thôn,Ea Súp,Đắk Lắk\n", "must be 'xã' or 'phường'"),
        ("categories.csv", "xyz,Xyz,Xyz,galactic,,\n", "scope 'galactic'"),
        ("sla_policies.csv", "dien,urgent,soon,4h\n", "durations must look like"),
        ("routing_keywords.csv", "dien,mất điện lưới,heavy\n", "is not a number"),
        ("agencies.csv", "so-x,Sở X\n", "wrong number of fields"),
    ],
)
def test_bad_file_is_refused_with_file_and_line(runner, tmp_path, filename, bad_line, needle):
    """Test that a malformed row stops the load with a message naming the file and line."""
    folder = tmp_path / "daklak"
    shutil.copytree(province_folder("daklak"), folder)
    path = folder / filename
    text = path.read_text(encoding="utf-8")
    line_no = len(text.splitlines()) + 1
    path.write_text(text + bad_line, encoding="utf-8")
    before = _counts()
    result = runner.invoke(args=["hotline", "load-province", "--folder", str(folder), "--quiet"])
    assert result.exit_code != 0
    assert f"{filename}:{line_no}" in result.output and needle in result.output
    assert _counts() == before


def test_missing_folder_is_a_clear_error(runner, tmp_path):
    """Test that an unknown province folder is reported, not a traceback."""
    result = runner.invoke(args=["hotline", "load-province", "--folder", str(tmp_path / "nowhere")])
    assert result.exit_code != 0 and "province folder not found" in result.output
