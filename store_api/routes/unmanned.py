"""Unmanned checkout for staff: shopper sessions, the review queue, letting a shopper out.

The service (:class:`hub.unmanned.service.UnmannedService`) is a hub plugin that runs
when ``[unmanned] enabled = true``.  Without it reads answer 404 and changes 409
(``unmanned checkout is not enabled in this store``); while it starts, 503.  Open
sessions come from the service's memory, closed ones and reviews from the database;
decisions go through the service, which charges the session's payment token.  That
token is never part of an answer: the models (unmanned_models.py) have no field for it.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from hub.checkout.payment import PaymentError
from hub.checkout.sales import load_sale
from hub.unmanned import review as rv
from hub.unmanned import sessions as ss
from hub.unmanned.service import UnmannedService
from hub.unmanned.service import service as unmanned_service
from store_api.auth import AUTH_RESPONSES, FORBIDDEN, Api, Reader, Responses, Staff
from store_api.models import Problem
from store_api.routes.unmanned_models import (
    CartLineDetail,
    CartLineOut,
    ConfirmIn,
    CorrectIn,
    CorrectionOut,
    DismissIn,
    LetOutOut,
    OtherReviewOut,
    ReviewList,
    ReviewOut,
    SessionDetail,
    SessionOut,
    UnmannedOut,
)

router = APIRouter(
    prefix="/unmanned",
    tags=["unmanned"],
    responses={
        **AUTH_RESPONSES,
        503: {"model": Problem, "description": "The unmanned checkout service is starting"},
    },
)

NOT_ENABLED = "unmanned checkout is not enabled in this store"
SessionId = Annotated[str, Path(description="A shopper session's id, e.g. `ss-3f9a0c2b1d4e`")]
ReviewId = Annotated[str, Path(description="A review's id, e.g. `rv-8c1d2e3f4a5b`")]
READ: Responses = {404: {"model": Problem, "description": "Not enabled here, or no such thing"}}
DECIDE: Responses = {
    **FORBIDDEN,
    404: {"model": Problem, "description": "No such review"},
    409: {"model": Problem, "description": "Not enabled here, or the review is already decided"},
    422: {
        "model": Problem,
        "description": "A dispute without the session that took it, a session that is"
        " not the bill's, or a bad body",
    },
    502: {"model": Problem, "description": "The payment provider failed"},
}
STATUSES: tuple[rv.Status, ...] = get_args(rv.Status)


# -- the service -----------------------------------------------------------------


def running(api: Api, request: Request) -> UnmannedService:
    if not api.hub.config.store.unmanned.enabled:
        raise HTTPException(404 if request.method == "GET" else 409, NOT_ENABLED)
    svc = unmanned_service(api.hub)
    if svc is None or not svc.ready.is_set():
        raise HTTPException(503, "the unmanned checkout service is not running yet")
    return svc


Unmanned = Annotated[UnmannedService, Depends(running)]


def _session_fields(s: ss.ShopperSession) -> dict[str, Any]:
    data = s.model_dump(mode="json", exclude={"pay_token", "cart"})
    return {**data, "inside": s.inside, "paying": s.pay_token is not None}


def _session(s: ss.ShopperSession) -> SessionOut:
    cart = [CartLineOut.model_validate(ln.model_dump()) for ln in s.cart.values()]
    return SessionOut.model_validate({**_session_fields(s), "cart": cart})


def _detail(s: ss.ShopperSession) -> SessionDetail:
    cart = [CartLineDetail.model_validate(ln.model_dump()) for ln in s.cart.values()]
    return SessionDetail.model_validate({**_session_fields(s), "cart": cart})


def _reviews_out(conn: Any, reviews: list[rv.Review]) -> list[ReviewOut]:
    out = []
    sessions: dict[str, list[rv.Review]] = {}  # (a session's reviews, read once)
    for r in reviews:
        sale = load_sale(conn, r.sale_id) if r.sale_id else None
        charged = sale[0].total if sale else None
        if r.session and r.session not in sessions:
            sessions[r.session] = rv.of_session(conn, r.session)
        also = [
            OtherReviewOut(
                id=o.id, status=o.status, reason=o.reason,
                lines=[CorrectionOut(gtin=ln.gtin, qty=ln.qty) for ln in o.asked.lines],
            )
            for o in sessions.get(r.session or "", [])
            if o.id != r.id
        ]  # fmt: skip
        data = {**r.model_dump(mode="json"), "charged": charged, "also": also}
        out.append(ReviewOut.model_validate(data))
    return out


async def _review(api: Api, review_id: str) -> ReviewOut | None:
    def read(conn: Any) -> ReviewOut | None:
        found = rv.load(conn, review_id)
        return None if found is None else _reviews_out(conn, [found])[0]

    return await api.read(read)


async def _undecidable(api: Api, review_id: str) -> HTTPException:
    found = await _review(api, review_id)
    if found is None:
        return HTTPException(404, f"no review {review_id!r}")
    return HTTPException(409, f"review {review_id!r} is already {found.status}")


async def _decide(
    api: Api,
    svc: UnmannedService,
    review_id: str,
    decision: rv.Status,
    *,
    by: str,
    lines: tuple[rv.Correction, ...] = (),
    note: str | None = None,
    session: str | None = None,
    keep_rest: bool = False,
) -> ReviewOut:
    # The service takes one decision at a time: two taps on "confirm" charge once.
    try:
        done = await svc.decide(
            review_id, decision, by=by, lines=lines, note=note, session=session, keep_rest=keep_rest
        )
    except rv.ReviewError:
        raise await _undecidable(api, review_id) from None
    except ValueError as exc:  # a dispute without its taker, a session not the bill's
        raise HTTPException(422, str(exc)) from None
    except PaymentError as exc:
        raise HTTPException(502, f"the payment provider failed: {exc}") from None
    out = await _review(api, done.id)
    assert out is not None  # just written
    return out


# -- routes --------------------------------------------------------------------


@router.get("", response_model=UnmannedOut, responses=READ)
async def overview(api: Api, _who: Reader, svc: Unmanned) -> UnmannedOut:
    """The store's unmanned checkout at a glance: its model, the emergency flag, open
    sessions, people inside and reviews by status."""
    counts = await api.read(rv.counts)
    open_ = list(svc.sessions.values())
    return UnmannedOut(
        model=svc.config.model,
        emergency=svc.emergency,
        sessions=len(open_),
        inside=sum(s.inside for s in open_),
        reviews={s: counts.get(s, 0) for s in STATUSES},
    )


@router.get("/sessions", response_model=list[SessionOut], responses=READ)
async def list_sessions(_who: Reader, svc: Unmanned) -> list[SessionOut]:
    """Open sessions, oldest first, with their carts (GTIN, quantity, confidence)."""
    return [_session(s) for s in sorted(svc.sessions.values(), key=lambda s: s.opened)]


@router.get("/sessions/{session_id}", response_model=SessionDetail, responses=READ)
async def get_session(
    api: Api, _who: Reader, svc: Unmanned, session_id: SessionId
) -> SessionDetail:
    """One session, open or closed, with each cart line's evidence, its sales and reviews."""
    s = svc.sessions.get(session_id) or await api.read(lambda c: ss.load_one(c, session_id))
    if s is None:
        raise HTTPException(404, f"no session {session_id!r}")
    return _detail(s)


@router.post(
    "/sessions/{session_id}/let-out",
    response_model=LetOutOut,
    responses={
        **FORBIDDEN,
        404: {"model": Problem, "description": "No such open session"},
        409: {"model": Problem, "description": "Unmanned checkout is not enabled here"},
    },
)
async def let_out(api: Api, who: Staff, svc: Unmanned, session_id: SessionId) -> LetOutOut:
    """Let out a shopper whose payment was declined: the exit opens and the unpaid bill
    goes to the review queue. Scope: staff."""
    try:
        queued = await svc.let_out(session_id, by=who.name)
    except LookupError:
        raise HTTPException(404, f"no open session {session_id!r}") from None
    review = await _review(api, queued.id) if queued is not None else None
    return LetOutOut(session=session_id, review=review)


@router.get("/reviews", response_model=ReviewList, responses=READ)
async def list_reviews(
    api: Api,
    _who: Reader,
    _svc: Unmanned,
    status: Annotated[rv.Status | None, Query(description="Only this status")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> ReviewList:
    """Reviews with their bills: of one `status` oldest first (the queue), else newest
    first."""
    limit = min(limit, api.config.max_page)

    def read(conn: Any) -> list[ReviewOut]:
        return _reviews_out(conn, rv.listing(conn, status, limit + 1))

    found = await api.read(read)
    return ReviewList(items=found[:limit], more=len(found) > limit)


@router.get("/reviews/{review_id}", response_model=ReviewOut, responses=READ)
async def get_review(api: Api, _who: Reader, _svc: Unmanned, review_id: ReviewId) -> ReviewOut:
    """One review: the bill's lines with amounts, confidence and evidence, why it is
    unsure, and the decision once made."""
    found = await _review(api, review_id)
    if found is None:
        raise HTTPException(404, f"no review {review_id!r}")
    return found


@router.post("/reviews/{review_id}/confirm", response_model=ReviewOut, responses=DECIDE)
async def confirm(
    api: Api, who: Staff, svc: Unmanned, review_id: ReviewId, body: ConfirmIn | None = None
) -> ReviewOut:
    """The bill is right: charge it to the session's payment token (`status` becomes
    `charged` with a `sale_id`, or `payment_failed`). A dispute needs the `session` that
    took it (422 without). Scope: staff."""
    note = body.note if body else None
    session = body.session if body else None
    return await _decide(api, svc, review_id, "confirmed", by=who.name, note=note, session=session)


@router.post("/reviews/{review_id}/correct", response_model=ReviewOut, responses=DECIDE)
async def correct(
    api: Api, who: Staff, svc: Unmanned, review_id: ReviewId, body: CorrectIn
) -> ReviewOut:
    """Charge corrected quantities: each listed item's full quantity (0 removes it);
    others stay as billed. 422 for a GTIN that is not valid, or not in the catalog. For
    a dispute: the `session` that took it, and with `keep_rest` what is not charged to
    it stays queued for another candidate. Scope: staff."""
    unknown = [ln.gtin for ln in body.lines if ln.qty > 0 and svc.catalog_get(ln.gtin) is None]
    if unknown:
        raise HTTPException(422, f"not in the store's catalog: {', '.join(unknown)}")
    lines = tuple(rv.Correction(gtin=ln.gtin, qty=ln.qty) for ln in body.lines)
    return await _decide(
        api,
        svc,
        review_id,
        "corrected",
        by=who.name,
        lines=lines,
        note=body.note,
        session=body.session,
        keep_rest=body.keep_rest,
    )


@router.post("/reviews/{review_id}/dismiss", response_model=ReviewOut, responses=DECIDE)
async def dismiss(
    api: Api, who: Staff, svc: Unmanned, review_id: ReviewId, body: DismissIn
) -> ReviewOut:
    """Charge nothing (a test, a shopper who took nothing); `note` says why. Scope: staff."""
    return await _decide(api, svc, review_id, "dismissed", by=who.name, note=body.note)
