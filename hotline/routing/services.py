"""Routing a received ticket to the agency responsible, or to triage when unsure.

The keyword rules and the communes are read from the database (admin-editable) and kept per
process for a minute (`invalidate_router` after an edit). A wrong agency is worse than
triage: the classifier declines ties and weak evidence, and so does this module whenever the
category's scope needs a commune that the ticket does not name.
"""

from __future__ import annotations

import logging
import time as _time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from hotline.extensions import db
from hotline.models import Agency, AreaAgency, Category, Commune, RoutingKeyword, Ticket, User
from hotline.routing.communes import CommuneMatcher
from hotline.routing.rules import CategoryClassifier, KeywordRule
from hotline.tickets import services as tickets
from hotline.tickets.errors import ConflictError, InvalidInput, InvalidTransition, NotFound

log = logging.getLogger(__name__)

ROUTER_TTL_SECONDS = 60
_TICKET_ALONE = (lazyload("*"),)
TRIAGE_CATEGORY = "khac"


@dataclass(frozen=True)
class Router:
    """The province's routing data, loaded once: rules, communes and agencies by scope."""

    classifier: CategoryClassifier
    communes: CommuneMatcher
    commune_ids: dict[tuple[str, str], int]
    category_ids: dict[str, int]
    # (category id, former province) -> agency id, for by-area categories.
    area_agencies: dict[tuple[int, str], int]
    # Detached copies of the reference rows, attached to a session without a query.
    rows: dict[tuple[type, int], Any] = field(default_factory=dict)

    def attach(self, model: type, row_id: int | None) -> Any:
        """Return the MODEL row ROW_ID in the current session (None if unknown).

        Routing reads the same categories, communes and agencies for every ticket; merging
        the cached copies (load=False) spares a query for each.
        """
        cached = self.rows.get((model, row_id)) if row_id is not None else None
        if cached is None:
            return db.session.get(model, row_id) if row_id is not None else None
        return db.session.merge(cached, load=False)


@dataclass
class RoutingDecision:
    """Where a ticket goes and why.

    Attributes:
        category_id: the category given or inferred (None when unsure).
        commune_id: the commune given or found in the text (None when none).
        agency_id: the responsible agency, or None for triage.
        reason: the Vietnamese explanation written on the ticket's event.
        data: the evidence, stored with the event.
    """

    category_id: int | None
    commune_id: int | None
    agency_id: int | None
    reason: str
    data: dict[str, Any] = field(default_factory=dict)
    # The rows themselves: holding them keeps them in the session's (weak) identity map, so
    # the assignment that follows reads them without another query.
    rows: tuple[Any, ...] = ()


def _load_router() -> Router:
    rules = [
        KeywordRule(code, phrase, weight)
        for code, phrase, weight in db.session.execute(
            select(Category.code, RoutingKeyword.phrase, RoutingKeyword.weight)
            .join(Category, Category.id == RoutingKeyword.category_id)
            .where(Category.active.is_(True))
            .order_by(RoutingKeyword.id)
        )
    ]
    communes = db.session.execute(
        select(Commune.id, Commune.name, Commune.type).order_by(Commune.id)
    ).all()
    areas = db.session.execute(
        select(AreaAgency.category_id, AreaAgency.former_province, AreaAgency.agency_id)
    ).all()
    categories = db.session.execute(select(Category.code, Category.id)).all()
    # Loaded in a session of their own, so detaching them leaves the caller's untouched.
    with Session(db.engine, expire_on_commit=False) as own:
        rows = {
            (type(row), row.id): row
            for model in (Agency, Category, Commune)
            for row in own.execute(select(model)).scalars()
        }
        own.expunge_all()
    return Router(
        classifier=CategoryClassifier(rules),
        communes=CommuneMatcher((name, kind) for _, name, kind in communes),
        commune_ids={(name, kind): cid for cid, name, kind in communes},
        category_ids=dict(categories),
        area_agencies={(cat, province): agency for cat, province, agency in areas},
        rows=rows,
    )


def get_router() -> Router:
    """Return the routing data of this process, reloaded when older than a minute."""
    cache = current_app.extensions.setdefault("hotline_router", {})
    entry = cache.get("router")
    if entry and _time.monotonic() - entry[0] < ROUTER_TTL_SECONDS:
        return entry[1]
    router = _load_router()
    cache["router"] = (_time.monotonic(), router)
    return router


def invalidate_router() -> None:
    """Forget this process's routing data (after an admin edits keywords or communes)."""
    current_app.extensions.setdefault("hotline_router", {}).pop("router", None)


def _active(agency: Agency | None) -> Agency | None:
    return agency if agency is not None and agency.active else None


def agency_for(
    category: Category | None, commune: Commune | None, router: Router | None = None
) -> tuple[Agency | None, str]:
    """Return the agency responsible for CATEGORY at COMMUNE, or None and why not.

    local: the commune's People's Committee, else the category's provincial agency;
    by-area: the agency serving the commune's former province (no commune: none);
    provincial: the category's agency; "khac" or no category: none.
    """
    if category is None:
        return None, "chưa rõ lĩnh vực"
    if category.code == TRIAGE_CATEGORY or not category.active:
        return None, f"lĩnh vực {category.name_vi}: cần phân loại"
    if category.scope == "local":
        if commune is not None and _active(commune.agency) is not None:
            return commune.agency, ""
        agency = _active(category.agency)
        return agency, "" if agency else "chưa rõ xã/phường và không có cơ quan cấp tỉnh"
    if category.scope == "by-area":
        if commune is None:
            return None, f"lĩnh vực {category.name_vi} theo khu vực: chưa rõ xã/phường"
        router = router or get_router()
        agency_id = router.area_agencies.get((category.id, commune.former_province))
        agency = _active(router.attach(Agency, agency_id))
        if agency is None:
            return None, f"không có đơn vị phụ trách {category.name_vi} cho {commune.full_name}"
        return agency, ""
    agency = _active(category.agency)
    return agency, "" if agency else f"lĩnh vực {category.name_vi} chưa có cơ quan phụ trách"


def decide(ticket: Ticket, router: Router | None = None) -> RoutingDecision:
    """Decide TICKET's category, commune and agency without changing anything.

    Args:
        ticket: a ticket (any state).
        router: the routing data (default: this process's cached copy).

    Returns:
        The decision; agency_id None means triage.
    """
    router = router or get_router()
    reasons: list[str] = []
    data: dict[str, Any] = {}
    category = router.attach(Category, ticket.category_id)
    if category is not None:
        reasons.append(f"lĩnh vực do người dân chọn: {category.name_vi}")
    else:
        result = router.classifier.classify(ticket.description or "")
        reasons.append(result.reason)
        data.update(keywords=result.matched, score=result.score, candidate=result.candidate)
        if result.category is not None:
            category = router.attach(Category, router.category_ids.get(result.category))
    commune = router.attach(Commune, ticket.commune_id)
    if commune is not None:
        reasons.append(f"{commune.type} do người dân chọn: {commune.name}")
    else:
        # The address is the more precise place; the description may name several.
        match = router.communes.find(ticket.address or "") or router.communes.find(
            ticket.description or ""
        )
        if match is not None:
            commune = router.attach(Commune, router.commune_ids.get((match.name, match.type)))
            if commune is not None:
                reasons.append(f"{commune.type}: {commune.name}")
    agency, why_not = agency_for(category, commune, router)
    if why_not:
        reasons.append(why_not)
    if category is not None:
        data["category"] = category.code
    if commune is not None:
        data["commune"] = commune.code
    return RoutingDecision(
        category_id=category.id if category else None,
        commune_id=commune.id if commune else None,
        agency_id=agency.id if agency else None,
        reason="; ".join(r for r in reasons if r),
        data=data,
        rows=(category, commune, agency),
    )


def route_ticket(ticket_id: int) -> str:
    """Route a received ticket: assign it to the responsible agency or send it to triage.

    Idempotent: a ticket that is no longer `received` (routed already, by this job run
    twice or by an operator) is left alone.

    Args:
        ticket_id: the ticket's id.

    Returns:
        "assigned:<agency code>", "triage", "skipped:<status>" or "missing".
    """
    # The ticket alone: its category, commune and agency come from the router's cache.
    ticket = db.session.get(Ticket, ticket_id, options=_TICKET_ALONE)
    if ticket is None:
        return "missing"
    if ticket.status != "received":
        return f"skipped:{ticket.status}"
    decision = decide(ticket)
    # Set here rather than passed to `assign`, whose checks would autoflush the ticket twice.
    ticket.category_id = decision.category_id
    ticket.commune_id = decision.commune_id
    try:
        if decision.agency_id is not None:
            agency_code = decision.rows[2].code
            tickets.assign(
                ticket.id, decision.agency_id, reason=decision.reason, data=decision.data
            )
            return f"assigned:{agency_code}"
        # Keep what routing did find: the operator starts from it.
        tickets.send_to_triage(ticket.id, reason=decision.reason, data=decision.data)
        return "triage"
    except (ConflictError, InvalidTransition):
        # Routed meanwhile by another run or an operator: nothing left to do.
        db.session.rollback()
        fresh = db.session.get(Ticket, ticket_id)
        return f"skipped:{fresh.status if fresh else 'missing'}"


def reroute_ticket(
    ticket_id: int,
    *,
    actor: User | None,
    category_id: int | None = None,
    commune_id: int | None = None,
    agency_id: int | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> Ticket:
    """An operator classifies a triage ticket by hand and routes it.

    The agency given wins; otherwise it follows from the category (given, or the one
    routing kept) and the commune by the category's scope.

    Args:
        ticket_id: the ticket, in `triage` (or still `received`).
        actor: the operator or supervisor.
        category_id: the category chosen, if any.
        commune_id: the commune chosen, if any.
        agency_id: the agency chosen, if any.
        note: the operator's comment for the history.
        expected_version: the version the operator saw (optimistic locking).

    Returns:
        The assigned ticket.

    Raises:
        InvalidInput: an id is unknown, or no agency follows from what was given.
        InvalidTransition, PermissionDenied, ConflictError: as `tickets.assign`.
    """
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    category = ticket.category
    if category_id is not None:
        category = db.session.get(Category, category_id)
        if category is None:
            raise InvalidInput("category", f"unknown category {category_id}")
    commune = ticket.commune
    if commune_id is not None:
        commune = db.session.get(Commune, commune_id)
        if commune is None:
            raise InvalidInput("commune", f"unknown commune {commune_id}")
    reasons = ["phân loại thủ công"]
    if agency_id is None:
        agency, why_not = agency_for(category, commune)
        if agency is None:
            raise InvalidInput("agency", f"chọn cơ quan xử lý ({why_not})")
        agency_id = agency.id
    else:
        reasons.append("cơ quan do tổng đài viên chọn")
    if note.strip():
        reasons.append(note.strip())
    return tickets.assign(
        ticket.id,
        agency_id,
        actor=actor,
        category_id=category.id if category else None,
        commune_id=commune.id if commune else None,
        reason="; ".join(reasons),
        data={"manual": True},
        expected_version=expected_version,
    )
