"""Demo data: one login per role and a few hundred realistic tickets in every state."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Agency, AreaAgency, Category, Commune, Ticket, User
from hotline.tickets import services
from hotline.timeutil import utcnow

DEMO_PASSWORD = "1022-demo-password"
# (email, name, role, agency code)
DEMO_USERS = (
    ("admin@demo.1022.vn", "Quản trị hệ thống", "admin", None),
    ("giamsat@demo.1022.vn", "Nguyễn Thị Giám Sát", "supervisor", None),
    ("tongdaivien@demo.1022.vn", "Trần Văn Tổng Đài", "operator", None),
    ("dienluc@demo.1022.vn", "Lê Văn Điện", "agent", "dien-luc"),
    ("truong.dienluc@demo.1022.vn", "Phạm Thị Trưởng", "agency_head", "dien-luc"),
    ("xaydung@demo.1022.vn", "Hoàng Văn Xây", "agent", "so-xay-dung"),
    ("tanlap@demo.1022.vn", "Y Bih Niê", "agent", "ubnd-phuong-tan-lap"),
    ("capnuoc@demo.1022.vn", "Đỗ Thị Nước", "agent", "cap-nuoc-dl"),
)

_REPORTS = (
    ("dien", "Khu vực {place} mất điện từ sáng đến giờ chưa có lại, đề nghị kiểm tra."),
    ("dien", "Dây điện bị võng thấp sát mái nhà dân ở {place}, rất nguy hiểm."),
    ("cap-thoat-nuoc", "Nước sinh hoạt ở {place} bị đục và có mùi hôi mấy ngày nay."),
    ("cap-thoat-nuoc", "Cống thoát nước ở {place} bị tắc, mưa xuống là ngập vào nhà dân."),
    ("giao-thong", "Đường qua {place} có nhiều ổ gà lớn, xe máy đi qua bị té."),
    ("giao-thong", "Đèn tín hiệu giao thông ở ngã tư gần {place} bị hỏng hai ngày nay."),
    ("moi-truong", "Rác thải tồn đọng ở chợ {place} cả tuần không ai thu gom, bốc mùi hôi thối."),
    ("moi-truong", "Cơ sở chăn nuôi heo xả nước thải ra suối ở {place} gây ô nhiễm."),
    ("trat-tu-do-thi", "Hàng quán lấn chiếm vỉa hè ở {place}, người đi bộ phải xuống lòng đường."),
    ("trat-tu-do-thi", "Có người xây nhà không phép lấn chiếm hành lang giao thông ở {place}."),
    ("an-ninh-trat-tu", "Nhóm thanh niên tụ tập đua xe trái phép ban đêm ở {place}."),
    ("an-ninh-trat-tu", "Quán karaoke ở {place} hát đến 1 giờ sáng, người dân không ngủ được."),
    ("hanh-chinh-cong", "Hồ sơ nộp ở bộ phận một cửa {place} đã quá hẹn mà chưa có kết quả."),
    ("y-te", "Trạm y tế {place} thiếu thuốc, người dân phải chờ rất lâu."),
    ("giao-duc", "Trường tiểu học ở {place} thu các khoản phí ngoài quy định."),
    ("lao-dong-xa-hoi", "Hộ nghèo ở {place} chưa nhận được tiền hỗ trợ theo chính sách."),
    ("nong-nghiep", "Phân bón giả bán cho bà con trồng cà phê ở {place}, cây bị vàng lá."),
    ("cong-thuong", "Cây xăng ở {place} bán xăng thiếu, bơm không đủ lít."),
    ("dat-dai", "Tranh chấp đất đai giữa hai hộ ở {place}, chính quyền chậm giải quyết."),
    (None, "Cho tôi hỏi số điện thoại đường dây nóng của {place}."),
)
_NAMES = (
    "Nguyễn Văn An",
    "Trần Thị Bình",
    "Lê Văn Cường",
    "H'Hen Niê",
    "Y Phôn Ksơr",
    "Phạm Thị Dung",
    "",
)
_CHANNELS = ("voice", "sms", "web", "web", "sms", "voice", "api", "operator")


def _agency_for(category: Category, commune: Commune) -> Agency | None:
    if category.scope == "local":
        return commune.agency
    if category.scope == "by-area":
        area = db.session.execute(
            select(AreaAgency).filter_by(
                category_id=category.id, former_province=commune.former_province
            )
        ).scalar_one_or_none()
        return area.agency if area else None
    return category.agency


def create_demo_users() -> dict[str, User]:
    """Create (or keep) one demo login per role; return them by role+agency."""
    users = {}
    for email, name, role, agency_code in DEMO_USERS:
        user = db.session.execute(select(User).filter_by(email=email)).scalar_one_or_none()
        if user is None:
            agency = (
                db.session.execute(select(Agency).filter_by(code=agency_code)).scalar_one()
                if agency_code
                else None
            )
            user = User(email=email, name=name, role=role, agency_id=agency.id if agency else None)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        users[email] = user
    db.session.commit()
    return users


def _staff_of(agency_id: int, users: dict[str, User]) -> User:
    for user in users.values():
        if user.agency_id == agency_id and user.role == "agent":
            return user
    agency = db.session.get_one(Agency, agency_id)
    email = f"canbo.{agency.code}@demo.1022.vn"
    staff = db.session.execute(select(User).filter_by(email=email)).scalar_one_or_none()
    if staff is None:
        staff = User(email=email, name=f"Cán bộ {agency.name}", role="agent", agency_id=agency_id)
        staff.set_password(DEMO_PASSWORD)
        db.session.add(staff)
        db.session.commit()
    users[email] = staff
    return staff


def create_demo_data(count: int = 300, seed: int = 1022) -> int:
    """Create demo users and COUNT tickets spread over the last 30 days and every state.

    The same SEED gives the same tickets: each one draws its random numbers in a fixed order.

    Returns:
        The number of demo users.
    """
    rng = random.Random(seed)
    users = create_demo_users()
    categories = {c.code: c for c in db.session.execute(select(Category)).scalars()}
    communes = list(db.session.execute(select(Commune)).scalars())
    favourite = [
        c for c in communes if c.code in ("phuong-tan-lap", "phuong-buon-ma-thuot", "xa-hoa-phu")
    ]
    now = utcnow()
    for _ in range(count):
        code, template = rng.choice(_REPORTS)
        commune = rng.choice(favourite) if rng.random() < 0.3 else rng.choice(communes)
        created = now - timedelta(days=rng.uniform(0, 30))
        operator = users["tongdaivien@demo.1022.vn"]
        ticket = _open_demo_ticket(
            rng, code, template.format(place=commune.full_name), commune, created, operator
        )
        step = created + timedelta(minutes=rng.randint(1, 5))
        category = categories.get(code) if code else None
        agency = _agency_for(category, commune) if category else None
        if category is None or agency is None or rng.random() < 0.05:
            if rng.random() < 0.7:
                services.send_to_triage(ticket.id, reason="không xác định được lĩnh vực", now=step)
            continue
        services.assign(
            ticket.id,
            agency.id,
            category_id=category.id,
            commune_id=commune.id,
            reason="demo",
            now=step,
        )
        agent = _staff_of(agency.id, users)
        _agency_works_on(rng, ticket, agent, users["giamsat@demo.1022.vn"], step, now)
    return len(users)


def _open_demo_ticket(
    rng: random.Random,
    code: str | None,
    description: str,
    commune: Commune,
    created: datetime,
    operator: User,
) -> Ticket:
    """Open one demo ticket as a citizen would (or an operator for them), not routed."""
    channel = rng.choice(_CHANNELS)
    report = services.Report(
        channel=channel,
        description=description,
        category_code=code if channel in ("web", "api", "operator") else None,
        commune_id=commune.id if rng.random() < 0.7 else None,
        priority=rng.choice(("normal",) * 6 + ("urgent", "complex")),
        citizen_name=rng.choice(_NAMES),
        phone=f"+8491{rng.randrange(10**7):07d}" if rng.random() < 0.8 else None,
        contact_consent=True,
    )
    actor = operator if channel == "operator" else None
    return services.create_ticket(report, actor=actor, now=created, route=False).ticket


def _agency_works_on(
    rng: random.Random, ticket: Ticket, agent: User, supervisor: User, step: datetime, now: datetime
) -> None:
    """Take an assigned ticket as far as its fate says: acknowledged, asked, transferred,
    resolved or closed, each step some hours after the last and never in the future."""
    fate = rng.random()
    if fate < 0.25:
        return  # assigned, waiting for the agency
    step += timedelta(hours=rng.uniform(0.5, 30))
    if step > now:
        return
    services.acknowledge(ticket.id, actor=agent, now=step)
    if fate < 0.4:
        return
    if fate < 0.45 and ticket.phone:
        services.ask_citizen(ticket.id, "Đề nghị cho biết địa chỉ cụ thể.", actor=agent, now=step)
        return
    if fate < 0.5:
        services.request_transfer(
            ticket.id, "Không thuộc thẩm quyền của đơn vị.", actor=agent, now=step
        )
        return
    step += timedelta(hours=rng.uniform(1, 80))
    if step > now:
        return
    services.resolve(
        ticket.id,
        "Đơn vị đã kiểm tra thực tế và khắc phục xong. Cảm ơn ông/bà đã phản ánh.",
        actor=agent,
        now=step,
    )
    if fate < 0.7:
        return
    step += timedelta(hours=rng.uniform(1, 24))
    if step > now:
        return
    services.close(ticket.id, actor=supervisor, publish=rng.random() < 0.8, now=step)
