"""Routing a received ticket to the agency responsible, or to triage when unsure.

The keyword rules, categories, communes and agencies are read from the database
(admin-editable) and kept per process for a minute, as plain values (`invalidate_router`
after an edit); the agency a decision names is read again when the ticket is assigned.
A wrong agency is worse than triage: the classifier declines ties and weak evidence, and so
does this module whenever the category's scope needs a commune that the ticket does not name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from hotline.cache import TimedCache
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
class CategoryInfo:
    """What routing needs of a category, as plain values."""

    id: int
    code: str
    name_vi: str
    scope: str  # local | provincial | by-area
    agency_id: int | None
    active: bool


@dataclass(frozen=True)
class CommuneInfo:
    """What routing needs of a commune, as plain values."""

    id: int
    code: str
    name: str
    type: str
    full_name: str
    former_province: str
    agency_id: int | None


@dataclass(frozen=True)
class Router:
    """The province's routing data, loaded once per process as plain values: rules,
    categories, communes, and which agencies are active and where by-area ones serve.

    Nothing here is an ORM object: a decision is made of ids and texts, and the agency it
    names is read from the database when the ticket is assigned (see `route_ticket`).
    """

    classifier: CategoryClassifier
    communes: CommuneMatcher
    commune_ids: dict[tuple[str, str], int]
    categories: dict[int, CategoryInfo]
    category_ids: dict[str, int]
    commune_infos: dict[int, CommuneInfo]
    # id -> (code, active) of every agency.
    agencies: dict[int, tuple[str, bool]]
    # (category id, former province) -> agency id, for by-area categories.
    area_agencies: dict[tuple[int, str], int]

    def agency_code(self, agency_id: int) -> str:
        return self.agencies[agency_id][0]

    def active_agency(self, agency_id: int | None) -> int | None:
        """AGENCY_ID if that agency is active (as this copy knows it), else None."""
        if agency_id is None or not self.agencies.get(agency_id, ("", False))[1]:
            return None
        return agency_id


@dataclass(frozen=True)
class RoutingDecision:
    """Where a ticket goes and why, as values.

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
    communes = [
        CommuneInfo(c.id, c.code, c.name, c.type, c.full_name, c.former_province, c.agency_id)
        for c in db.session.execute(
            select(Commune).options(lazyload("*")).order_by(Commune.id)
        ).scalars()
    ]
    categories = [
        CategoryInfo(c.id, c.code, c.name_vi, c.scope, c.agency_id, c.active)
        for c in db.session.execute(select(Category).options(lazyload("*"))).scalars()
    ]
    areas = db.session.execute(
        select(AreaAgency.category_id, AreaAgency.former_province, AreaAgency.agency_id)
    ).all()
    agencies = db.session.execute(select(Agency.id, Agency.code, Agency.active)).all()
    return Router(
        classifier=CategoryClassifier(rules),
        communes=CommuneMatcher((c.name, c.type) for c in communes),
        commune_ids={(c.name, c.type): c.id for c in communes},
        categories={c.id: c for c in categories},
        category_ids={c.code: c.id for c in categories},
        commune_infos={c.id: c for c in communes},
        agencies={agency_id: (code, active) for agency_id, code, active in agencies},
        area_agencies={(cat, province): agency for cat, province, agency in areas},
    )


_router_cache = TimedCache("router", _load_router, ROUTER_TTL_SECONDS)


def get_router() -> Router:
    """Return the routing data of this process, reloaded when older than a minute."""
    return _router_cache.get()


def invalidate_router() -> None:
    """Forget this process's routing data (after an admin edits keywords or communes)."""
    _router_cache.invalidate()


def agency_for(
    category: CategoryInfo | None, commune: CommuneInfo | None, router: Router | None = None
) -> tuple[int | None, str]:
    """Return the id of the agency responsible for CATEGORY at COMMUNE, or None and why not.

    local: the commune's People's Committee, else the category's provincial agency;
    by-area: the agency serving the commune's former province (no commune: none);
    provincial: the category's agency; "khac" or no category: none.
    """
    router = router or get_router()
    if category is None:
        return None, "chưa rõ lĩnh vực"
    if category.code == TRIAGE_CATEGORY or not category.active:
        return None, f"lĩnh vực {category.name_vi}: cần phân loại"
    if category.scope == "local":
        if commune is not None and router.active_agency(commune.agency_id) is not None:
            return commune.agency_id, ""
        agency_id = router.active_agency(category.agency_id)
        return agency_id, "" if agency_id else "chưa rõ xã/phường và không có cơ quan cấp tỉnh"
    if category.scope == "by-area":
        if commune is None:
            return None, f"lĩnh vực {category.name_vi} theo khu vực: chưa rõ xã/phường"
        area_agency = router.area_agencies.get((category.id, commune.former_province))
        agency_id = router.active_agency(area_agency)
        if agency_id is None:
            return None, f"không có đơn vị phụ trách {category.name_vi} cho {commune.full_name}"
        return agency_id, ""
    agency_id = router.active_agency(category.agency_id)
    return agency_id, "" if agency_id else f"lĩnh vực {category.name_vi} chưa có cơ quan phụ trách"


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
    category = router.categories.get(ticket.category_id) if ticket.category_id else None
    if category is not None:
        reasons.append(f"lĩnh vực do người dân chọn: {category.name_vi}")
    else:
        result = router.classifier.classify(ticket.description or "")
        reasons.append(result.reason)
        data.update(keywords=result.matched, score=result.score, candidate=result.candidate)
        if result.category is not None:
            category = router.categories.get(router.category_ids.get(result.category, 0))
    commune = router.commune_infos.get(ticket.commune_id) if ticket.commune_id else None
    if commune is not None:
        reasons.append(f"{commune.type} do người dân chọn: {commune.name}")
    else:
        # The address is the more precise place; the description may name several.
        match = router.communes.find(ticket.address or "") or router.communes.find(
            ticket.description or ""
        )
        if match is not None:
            commune = router.commune_infos.get(router.commune_ids.get((match.name, match.type), 0))
            if commune is not None:
                reasons.append(f"{commune.type}: {commune.name}")
    agency_id, why_not = agency_for(category, commune, router)
    if why_not:
        reasons.append(why_not)
    if category is not None:
        data["category"] = category.code
    if commune is not None:
        data["commune"] = commune.code
    return RoutingDecision(
        category_id=category.id if category else None,
        commune_id=commune.id if commune else None,
        agency_id=agency_id,
        reason="; ".join(r for r in reasons if r),
        data=data,
    )


def route_ticket(ticket_id: int) -> str:
    """Route a received ticket: assign it to the responsible agency or send it to triage.

    Idempotent: a ticket that is no longer `received` (routed already, by this job run
    twice or by an operator) is left alone. The agency decided on is read from the
    database when the ticket is assigned: one deactivated since this process's routing
    data was loaded is refused, and the ticket is routed again on fresh data.

    Args:
        ticket_id: the ticket's id.

    Returns:
        "assigned:<agency code>", "triage", "skipped:<status>" or "missing".
    """
    for fresh_data in (False, True):
        if fresh_data:
            invalidate_router()
        # The ticket alone: its category, commune and agency are the router's values.
        ticket = db.session.get(Ticket, ticket_id, options=_TICKET_ALONE)
        if ticket is None:
            return "missing"
        if ticket.status != "received":
            return f"skipped:{ticket.status}"
        router = get_router()
        decision = decide(ticket, router)
        try:
            return _carry_out(ticket, decision, router)
        except InvalidInput as refused:
            # The agency, category or commune changed since the routing data was read.
            db.session.rollback()
            log.info("routing data out of date for ticket %s: %s", ticket_id, refused)
        except (ConflictError, InvalidTransition):
            # Routed meanwhile by another run or an operator: nothing left to do.
            db.session.rollback()
            fresh = db.session.get(Ticket, ticket_id)
            return f"skipped:{fresh.status if fresh else 'missing'}"
    tickets.send_to_triage(
        ticket_id, reason=f"{decision.reason}; cơ quan được chọn không còn nhận phiếu"
    )
    return "triage"


def _carry_out(ticket: Ticket, decision: RoutingDecision, router: Router) -> str:
    # Set here rather than passed to `assign`, whose checks would autoflush the ticket twice.
    ticket.category_id = decision.category_id
    ticket.commune_id = decision.commune_id
    if decision.agency_id is not None:
        tickets.assign(ticket.id, decision.agency_id, reason=decision.reason, data=decision.data)
        return f"assigned:{router.agency_code(decision.agency_id)}"
    # Keep what routing did find: the operator starts from it.
    tickets.send_to_triage(ticket.id, reason=decision.reason, data=decision.data)
    return "triage"


def _router_knowing(category_id: int | None, commune_id: int | None) -> Router:
    """This process's routing data, reloaded once if it does not know the ids given.

    Raises:
        InvalidInput: an id the database does not know either.
    """
    router = get_router()
    if (category_id is not None and category_id not in router.categories) or (
        commune_id is not None and commune_id not in router.commune_infos
    ):
        invalidate_router()
        router = get_router()
    if category_id is not None and category_id not in router.categories:
        raise InvalidInput("category", f"unknown category {category_id}")
    if commune_id is not None and commune_id not in router.commune_infos:
        raise InvalidInput("commune", f"unknown commune {commune_id}")
    return router


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
    router = _router_knowing(category_id, commune_id)
    category_id = category_id if category_id is not None else ticket.category_id
    commune_id = commune_id if commune_id is not None else ticket.commune_id
    reasons = ["phân loại thủ công"]
    if agency_id is None:
        agency_id, why_not = agency_for(
            router.categories.get(category_id) if category_id else None,
            router.commune_infos.get(commune_id) if commune_id else None,
            router,
        )
        if agency_id is None:
            raise InvalidInput("agency", f"chọn cơ quan xử lý ({why_not})")
    else:
        reasons.append("cơ quan do tổng đài viên chọn")
    if note.strip():
        reasons.append(note.strip())
    return tickets.assign(
        ticket.id,
        agency_id,
        actor=actor,
        category_id=category_id,
        commune_id=commune_id,
        reason="; ".join(reasons),
        data={"manual": True},
        expected_version=expected_version,
    )
