"""Tests of the queues: scoping, order by nearest deadline, keyset pages, search, filters, CSV."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import timedelta
from types import SimpleNamespace

from hotline.extensions import db
from hotline.models import Ticket
from hotline.routing.services import route_ticket
from hotline.staff.queue import QueueFilters, fetch_page, filtered_tickets, ordered
from hotline.timeutil import utcnow
from tests.web.staff_helpers import (
    agency,
    commune,
    login,
    make_ticket,
    make_user,
    reload,
)


def _codes(response) -> list[str]:
    """Return the ticket codes listed on a queue page, in order."""
    html = response.get_data(as_text=True)
    return re.findall(r'class="ticket-code fw-semibold" href="/staff/tickets/(\d{10})"', html)


def test_agents_see_only_their_agency(signed_in):
    """Test that an agent's queue holds only their agency's tickets, whatever the filters say."""
    mine = make_ticket("assigned", "dien-luc")
    theirs = make_ticket("assigned", "so-xay-dung", "giao-thong")
    client, _ = signed_in("agent", "dien-luc")
    codes = _codes(client.get("/staff/tickets"))
    assert mine.code in codes and theirs.code not in codes
    forced = _codes(client.get(f"/staff/tickets?agency={agency('so-xay-dung').id}"))
    assert theirs.code not in forced
    supervisor, _ = signed_in("supervisor")
    assert {mine.code, theirs.code} <= set(_codes(supervisor.get("/staff/tickets")))


def test_queue_is_ordered_by_nearest_deadline_and_shows_time_left(signed_in):
    """Test that rows come nearest deadline first and say how much working time is left."""
    now = utcnow()
    late = make_ticket("acknowledged", now=now - timedelta(days=20))
    fresh = make_ticket("assigned", now=now)
    middle = make_ticket("acknowledged", now=now - timedelta(days=2))
    client, _ = signed_in("agent", "dien-luc")
    response = client.get("/staff/tickets")
    codes = _codes(response)
    expected = [t.code for t in sorted([late, fresh, middle], key=lambda t: reload(t).due_at)]
    assert codes == expected
    html = response.get_data(as_text=True)
    assert "quá hạn" in html and "còn" in html


def test_keyset_pages_cover_everything_once(app):
    """Test that paging by cursor, through tickets with and without deadlines, loses nothing."""
    now = utcnow()
    made = [make_ticket("acknowledged", now=now - timedelta(days=d)) for d in (9, 1, 5, 3)]
    made += [make_ticket("triage"), make_ticket("resolved"), make_ticket("received")]
    supervisor = make_user("supervisor")
    for sort in ("due", "newest", "oldest"):
        stmt = filtered_tickets(supervisor, QueueFilters(status="open", sort=sort))
        everything = [t.id for t in db.session.execute(ordered(stmt, sort)).scalars()]
        seen, cursor = [], None
        while True:
            page = fetch_page(stmt, sort, cursor, size=2)
            seen += [t.id for t in page.rows]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == everything and len(seen) == len(made), sort


def test_bad_filter_values_are_ignored_not_errors(signed_in):
    """Test that nonsense in the query string gives the normal page, never a 500."""
    make_ticket("assigned")
    client, _ = signed_in("supervisor")
    for query in (
        "status=bogus",
        "category=abc",
        "commune=-1",
        "date_from=31-02-2026",
        "after=d999999999999999999999_x",
        "after=zzz",
        "sort=drop table",
        "sla=<script>",
        "q=" + "x" * 500,
    ):
        assert client.get(f"/staff/tickets?{query}").status_code == 200, query


def test_search_by_code_phone_and_text_with_or_without_diacritics(signed_in):
    """Test the search box: a code, a phone in any usual form, words with or without accents."""
    power = make_ticket("assigned", description="Khu phố Tân Lập mất điện từ sáng.")
    water = make_ticket(
        "assigned",
        "cap-nuoc-dl",
        "cap-thoat-nuoc",
        description="Nước sinh hoạt bị đục.",
        phone="+84987654321",
    )
    client, _ = signed_in("supervisor")

    def found(q: str) -> set[str]:
        return set(_codes(client.get("/staff/tickets", query_string={"q": q})))

    assert found(power.code) == {power.code}
    assert found(f"{power.code[:2]} {power.code[2:6]} {power.code[6:]}") == {power.code}
    assert found("0987654321") == {water.code}
    assert found("+84 987 654 321") == {water.code}
    assert found("mất điện") == {power.code}
    assert found("mat dien") == {power.code}
    assert found("MẤT ĐIỆN tân lập") == {power.code}
    assert found("nuoc duc") == {water.code}
    assert found("dien") == {power.code}
    assert found("hỏa hoạn") == set()
    assert found("qz%_") == set()  # wildcards are not wildcards (and no code holds letters)


def test_a_new_ticket_is_found_by_code_phone_and_words_at_once(signed_in):
    """Test that a ticket just stored, before any worker routed it, is found by its code,
    its phone number and its words; and still by its words once routed."""
    new = make_ticket(
        "received", description="Cột điện đổ chắn ngang đường Hùng Vương.", phone="+84987000111"
    )
    client, _ = signed_in("supervisor")

    def found(q: str) -> set[str]:
        return set(_codes(client.get("/staff/tickets", query_string={"q": q})))

    assert reload(new).status == "received"
    assert found(new.code) == {new.code}
    assert found("0987000111") == {new.code}
    assert found("cot dien") == {new.code}
    assert found("hung vuong") == {new.code}
    assert route_ticket(new.id) != "missing"
    assert reload(new).status != "received"
    assert found("cot dien") == {new.code}
    assert found("Hùng Vương") == {new.code}


def test_search_short_syllables_as_whole_words(signed_in):
    """Test that short syllables ("ổ gà", "xe") match whole words, not pieces of others."""
    road = make_ticket("assigned", description="Đường Lê Duẩn có nhiều ổ gà lớn.")
    truck = make_ticket("assigned", description="Xe tải chở gạch làm vỡ mặt đường.")
    client, _ = signed_in("supervisor")

    def found(q: str) -> set[str]:
        return set(_codes(client.get("/staff/tickets", query_string={"q": q})))

    assert found("ổ gà") == {road.code}
    assert found("o ga lon") == {road.code}
    assert found("xe") == {truck.code}
    assert found("ga") == {road.code}  # not "gạch"
    assert found("duong") == {road.code, truck.code}


def test_filters(signed_in):
    """Test the status, SLA, category, commune, channel and date filters."""
    now = utcnow()
    old = make_ticket("acknowledged", now=now - timedelta(days=40), channel="sms")
    resolved = make_ticket("resolved")
    risky = make_ticket("assigned", channel="voice")
    row = db.session.get(Ticket, risky.id)
    row.acknowledge_state = "at_risk"  # as the SLA sweep would have marked it
    row.commune_id = commune("phuong-tan-lap").id
    db.session.commit()
    road = make_ticket("assigned", "so-xay-dung", "giao-thong")
    client, _ = signed_in("supervisor")

    def listed(**args) -> set[str]:
        return set(_codes(client.get("/staff/tickets", query_string=args)))

    assert listed(status="resolved") == {resolved.code}
    assert listed(sla="breached") == {old.code}  # its deadline has passed, whatever is stored
    assert listed(sla="at_risk") == {risky.code}
    assert listed(sla="on_track") == {road.code}
    assert listed(commune=str(commune("phuong-tan-lap").id)) == {risky.code}
    assert listed(category=str(road.category_id)) == {road.code}
    assert listed(channel="sms") == {old.code}
    since = (now - timedelta(days=10)).date().isoformat()
    assert old.code not in listed(date_from=since)
    assert listed(date_to=(now - timedelta(days=30)).date().isoformat()) == {old.code}
    assert listed(status="closed") == set()


def test_preset_lists(signed_in):
    """Test the triage, transfer and review lists of the centre."""
    triage = make_ticket("triage")
    received = make_ticket("received")
    transfer = make_ticket("transfer_requested")
    review = make_ticket("resolved")
    supervisor, _ = signed_in("supervisor")
    assert set(_codes(supervisor.get("/staff/triage"))) == {triage.code, received.code}
    assert set(_codes(supervisor.get("/staff/transfers"))) == {transfer.code}
    assert set(_codes(supervisor.get("/staff/review"))) == {review.code}


def test_csv_export_has_bom_filters_and_no_personal_data(signed_in):
    """Test that the CSV is UTF-8 with BOM, follows the filters and scope, and omits phones."""
    mine = make_ticket("assigned", description="Mất điện ở phường Tân Lập")
    make_ticket("resolved")
    other = make_ticket("assigned", "so-xay-dung", "giao-thong")
    client, _ = signed_in("agent", "dien-luc")
    response = client.get("/staff/tickets.csv?status=assigned")
    body = response.data
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã phiếu", "Trạng thái", "Kênh"]
    assert [r[0] for r in rows[1:]] == [mine.code]
    assert rows[1][1] == "Đã chuyển xử lý" and "Tân Lập" in rows[1][-1]
    assert "+8491" not in body.decode("utf-8-sig") and other.code not in body.decode()


def test_ticket_codes_are_unique_in_every_list(signed_in):
    """Test that a ticket never appears twice (joins of categories and agencies do not repeat)."""
    for _ in range(3):
        make_ticket("assigned")
    client, _ = signed_in("supervisor")
    codes = _codes(client.get("/staff/tickets?sort=newest"))
    assert len(codes) == len(set(codes)) == 3


def test_csv_streams_outside_the_test_app_context(app):
    """Test that the CSV streams when served for real (no app context kept around the request).

    The suite keeps an app context open around each test, which would hide a query made in
    the view and read after Flask has closed the request's session.
    """
    ticket = make_ticket("assigned")
    user = SimpleNamespace(email=make_user("supervisor").email)  # plain: read in the thread
    result: dict = {}

    def download():
        client = app.test_client()  # no app context in this thread: none to clear either
        login(client, user)
        result["body"] = client.get("/staff/tickets.csv").data

    worker = threading.Thread(target=download)
    worker.start()
    worker.join(timeout=30)
    assert ticket.code in result["body"].decode("utf-8-sig")
