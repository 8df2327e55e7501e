"""Browser tests of the staff side: agent, supervisor, transfer, triage, dashboard charts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from hotline.timeutil import utcnow
from tests.web.staff_helpers import PASSWORD, agency, make_ticket, make_user, reload

pytestmark = pytest.mark.browser


def sign_in(page: Page, user) -> None:
    """Sign USER in through the login form."""
    page.goto("/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.locator("form input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/(staff|admin)/"))


def submit(page: Page, action: str) -> None:
    """Press the submit button of ACTION's form on the ticket page."""
    page.locator(f"[data-action={action}] input[type=submit]").click()


def open_action(page: Page, action: str) -> None:
    """Unfold ACTION's panel (secondary actions start folded)."""
    panel = page.locator(f"details[data-action={action}]")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()


def test_agent_logs_in_acknowledges_and_answers(page: Page):
    """Test that an agent finds the ticket in the queue, acknowledges it and answers it."""
    ticket = make_ticket("assigned", description="Mất điện khu vực chợ Tân Lập từ 6 giờ sáng.")
    agent = make_user("agent", "dien-luc", name="Lê Văn Điện")
    sign_in(page, agent)
    row = page.locator("tr", has=page.get_by_role("link", name=ticket.code))
    expect(row).to_contain_text("Mất điện khu vực chợ Tân Lập")
    expect(row).to_contain_text("Trong hạn")
    page.get_by_role("link", name=ticket.code).click()
    status = page.get_by_test_id("status")
    expect(status).to_have_text("Đã chuyển xử lý")
    submit(page, "acknowledge")
    expect(page.get_by_role("alert").first).to_have_text("Đã tiếp nhận xử lý phiếu.")
    expect(status).to_have_text("Đang xử lý")
    answer = "Điện lực đã thay cầu chì, khu vực có điện lại lúc 9 giờ 30."
    page.fill("#resolve-answer", answer)
    submit(page, "resolve")
    expect(status).to_have_text("Đã trả lời")
    expect(page.get_by_test_id("answer")).to_have_text(answer)
    done = reload(ticket)
    assert done.status == "resolved" and done.public_answer == answer
    assert page.errors == []


def test_supervisor_closes_and_publishes(page: Page, new_page):
    """Test that a supervisor reviews an answer, closes and publishes it; the public sees it."""
    ticket = make_ticket("resolved", description="Đường dây điện võng thấp ở thôn 3.")
    supervisor = make_user("supervisor", name="Nguyễn Thị Giám Sát")
    sign_in(page, supervisor)
    page.get_by_role("link", name="Chờ duyệt").click()
    page.get_by_role("link", name=ticket.code).click()
    page.check("#close-publish")
    submit(page, "close")
    expect(page.get_by_test_id("status")).to_have_text("Đã đóng")
    closed = reload(ticket)
    assert closed.status == "closed" and closed.answer_published
    public = new_page()
    public.goto("/answers?q=day dien vong thap")
    public.get_by_role("link", name=re.compile("Đường dây điện võng thấp")).click()
    expect(public.locator("main")).to_contain_text("Đã khắc phục xong sự cố điện.")


def test_transfer_is_requested_and_approved(page: Page, new_page):
    """Test that an agent asks for a transfer and a supervisor approves it to another agency."""
    ticket = make_ticket("acknowledged", description="Cột điện chiếu sáng đô thị bị nghiêng.")
    sign_in(page, make_user("agent", "dien-luc"))
    page.goto(f"/staff/tickets/{ticket.code}")
    open_action(page, "request_transfer")
    page.fill("#request_transfer-reason", "Đèn chiếu sáng đô thị không thuộc điện lực quản lý.")
    page.select_option("#request_transfer-to_agency", label="Sở Xây dựng")
    submit(page, "request_transfer")
    expect(page.get_by_test_id("status")).to_have_text("Đề nghị chuyển")

    supervisor = new_page()
    sign_in(supervisor, make_user("supervisor"))
    supervisor.get_by_role("link", name="Đề nghị chuyển").click()
    supervisor.get_by_role("link", name=ticket.code).click()
    expect(supervisor.locator("#approve_transfer-agency")).to_have_value(
        str(agency("so-xay-dung").id)
    )
    submit(supervisor, "approve_transfer")
    expect(supervisor.get_by_test_id("status")).to_have_text("Đã chuyển xử lý")
    expect(supervisor.get_by_test_id("agency")).to_have_text("Sở Xây dựng")
    assert reload(ticket).agency_id == agency("so-xay-dung").id


def test_operator_triages(page: Page):
    """Test that an operator classifies a triage ticket and it goes to the right agency."""
    ticket = make_ticket("triage", description="Nhà tôi bị cúp điện hai ngày rồi.")
    sign_in(page, make_user("operator"))
    expect(page).to_have_url(re.compile("/staff/triage"))
    page.get_by_role("link", name=ticket.code).click()
    expect(page.get_by_test_id("status")).to_have_text("Chờ phân loại")
    page.select_option("#assign-category", label="Điện")
    submit(page, "assign")
    expect(page.get_by_test_id("status")).to_have_text("Đã chuyển xử lý")
    expect(page.get_by_test_id("agency")).to_have_text("Công ty Điện lực Đắk Lắk")


# What a chart's canvas holds: its Chart.js object, its width, how many pixels are painted.
PAINTED_JS = """(c) => {
    const chart = window.Chart.getChart(c);
    const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) painted++; }
    return {
        chart: Boolean(chart), painted: painted, width: c.width,
        ready: Boolean(chart) && c.width > 0 && painted > 500,
    };
}"""


def test_dashboard_draws_its_charts(page: Page):
    """Test that the dashboard's four charts are drawn on their canvases, with no script error."""
    now = utcnow()
    for days, channel in ((0, "web"), (0, "sms"), (1, "voice"), (2, "api")):
        make_ticket("acknowledged", channel=channel, now=now - timedelta(days=days))
    make_ticket("resolved", "so-xay-dung", "giao-thong", now=now - timedelta(days=1))
    sign_in(page, make_user("supervisor"))
    page.get_by_role("link", name="Bảng điều khiển").click()
    for key in ("per_day", "open", "on_time", "median"):
        canvas = page.locator(f"#chart-{key}")
        expect(canvas).to_have_attribute("data-rendered", "1")
        # Chart.js paints after the attribute is set (and again when the layout resizes
        # the canvas): wait until the canvas has pixels, however long a busy machine takes.
        page.wait_for_function(
            f"() => ({PAINTED_JS})(document.getElementById('chart-{key}')).ready"
        )
        drawn = canvas.evaluate(PAINTED_JS)
        assert drawn["chart"] and drawn["width"] > 0 and drawn["painted"] > 500, (key, drawn)
    assert page.errors == []
