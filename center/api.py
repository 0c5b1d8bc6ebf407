"""API v1 for kiosks (docs/architecture.md, "Center API v1").

Handlers are plain functions: FastAPI runs them in its thread pool, so the
database calls and the fsync of photo files never block the event loop. An
upload costs one read (idempotency replay), one file write and one write
transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from center import grants, jobs, links, orders
from center import schema as t
from center.checks import OFF, QUEUED
from center.db import Precompiled
from center.errors import ApiError, bad_request, not_found, order_locked, unauthorized
from center.grants import Grant
from center.identify import check_identity, count_refusal
from center.models import (
    CODE_PATTERN,
    CodeIn,
    EmailIn,
    EmailOut,
    EndOut,
    Error,
    HeartbeatIn,
    HeartbeatOut,
    IdentifyIn,
    IdentifyOut,
    KeysOut,
    LinkOut,
    OrderOut,
    ReprintIn,
    ReprintOut,
    ReprintPrintedIn,
)
from center.service import Center
from center.storage.http import photo_response
from center.upload_rules import refuse_outside_hard_limits
from center.words import said, said_zh
from kiosk.redact import code_ref, mask_name

log = logging.getLogger("center.api")
bearer = HTTPBearer(auto_error=False, description="Device token from `kiosk center add-kiosk`")


def _err(*codes: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {401: {"model": Error, "description": "No or bad token"}}
    for code in codes:
        out[code] = {"model": Error}
    return out


# Dependencies are coroutines: FastAPI runs a plain-function dependency in its
# thread pool, a hand-off to another thread and back for each one on every call.
async def get_center(request: Request) -> Center:
    center: Center = request.app.state.center
    return center


CenterDep = Annotated[Center, Depends(get_center)]


async def require_kiosk(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> tuple[int, str]:
    known: tuple[int, str] | None = getattr(request.state, "kiosk", None)  # center.guard checked it
    if known is not None:
        return known
    if creds is None or creds.scheme.lower() != "bearer":
        raise unauthorized()
    center: Center = request.app.state.center
    kiosk = await run_in_threadpool(center.authenticate, creds.credentials)  # a database read
    if kiosk is None:
        raise unauthorized()
    return kiosk


Kiosk = Annotated[tuple[int, str], Depends(require_kiosk)]
router = APIRouter(prefix="/api/v1", tags=["kiosk"])


def _grant(
    center: Center,
    request: Request,
    kiosk: tuple[int, str],
    code: str,
    kinds: tuple[str, ...] = (grants.SESSION,),
) -> Grant:
    """The grant this call carries for ``code``, or ``grant_required`` (counted).

    Checked before the code is looked up anywhere, so without a grant a known
    and an unknown code get the same answer; each refusal counts as a failed
    identify of this kiosk (center/identify.py ``count_refusal``).
    """
    token = grants.header_token(request.headers)
    grant = None
    if token:
        with center.db.lookup() as conn:
            grant = grants.resolve(conn, token, kiosk[0], kinds)
    if grant is None or not hmac.compare_digest(grant.collection_code.encode(), code.encode()):
        with center.db.write() as conn:
            count_refusal(conn, center.limits, kiosk[0])
        log.info("kiosk %s: order call for %s without a valid grant", kiosk[1], code_ref(code))
        raise grants.grant_required()
    return grant


def _order(conn: Connection, grant: Grant, lock: bool = False) -> Any:
    query = select(t.orders).where(t.orders.c.id == grant.order_id)
    return conn.execute(query.with_for_update() if lock else query).one()


def _actor(kiosk: tuple[int, str]) -> str:
    return f"kiosk:{kiosk[1]}"


@router.post("/identify", response_model=IdentifyOut, responses=_err(403, 404, 423, 429))
def identify(body: IdentifyIn, center: CenterDep, kiosk: Kiosk) -> Any:
    """Resolve a collection code + last 4 ID characters to the masked record and order.

    Also issues the session grant (status, upload, withdraw, download link,
    e-mail, reprint) and the upload ticket (the outbox's later upload of this
    order's photo); both are bound to this kiosk and this order. An unknown code
    answers like a known one with wrong digits.
    """
    with center.db.write() as conn:
        outcome = check_identity(
            conn,
            center.limits,
            kiosk[0],
            body.collection_code,
            body.id_last4,
            body.feature_code,
            body.context.model_dump(),
        )
        if outcome.error is None:
            student = conn.execute(
                select(t.students).where(t.students.c.id == outcome.student.id)
            ).one()
            order = orders.ensure_order(conn, student.id)
            grant, grant_expires = grants.issue(
                conn, grants.SESSION, kiosk[0], student.id, order.id, center.session_ttl
            )
            ticket, ticket_expires = grants.issue(
                conn, grants.UPLOAD, kiosk[0], student.id, order.id, center.ticket_ttl
            )
    center.sweep_maybe()
    if outcome.error is not None:
        log.info("identify %s refused: %s", code_ref(body.collection_code), outcome.error.code)
        raise outcome.error
    return {
        "student": {
            "masked_name": mask_name(student.name),
            "school": student.school,
            "level": student.level,
            "major": student.major,
        },
        "order": orders.order_view(order),
        "grant": {"token": grant, "expires_at": _iso(grant_expires)},
        "upload_ticket": {"token": ticket, "expires_at": _iso(ticket_expires)},
    }


# The upload's statements, compiled once (center/db.py ``Precompiled``).
_REPLAY = Precompiled(
    select(t.idempotency.c.fingerprint, t.idempotency.c.status_code, t.idempotency.c.response)
    .where(t.idempotency.c.key == bindparam("key"))
)
# The order, locked, and an earlier upload with this key (if any) in one round trip.
_ORDER_AND_REPLAY = Precompiled(
    select(
        t.orders,
        t.idempotency.c.key.label("replay_key"),
        t.idempotency.c.fingerprint.label("replay_fingerprint"),
        t.idempotency.c.status_code.label("replay_status"),
        t.idempotency.c.response.label("replay_response"),
    )
    .select_from(t.orders.outerjoin(t.idempotency, t.idempotency.c.key == bindparam("key")))
    .where(t.orders.c.id == bindparam("order_id"))
    .with_for_update(of=t.orders)
)
_NEW_VERSION = Precompiled(
    insert(t.photo_versions)
    .values(
        order_id=bindparam("order_id"),
        version_no=bindparam("version_no"),
        sha256=bindparam("sha256"),
        size=bindparam("size"),
        kiosk_id=bindparam("kiosk_id"),
        created_at=bindparam("created_at"),
        check_state=bindparam("check_state"),
    )
    .returning(t.photo_versions.c.id)
)
_TO_PENDING = Precompiled(
    update(t.orders)
    .where(t.orders.c.id == bindparam("order_id"))
    .values(
        state=orders.PENDING,
        version=bindparam("version"),
        reason_code=None,
        reason_text=None,
        updated_at=bindparam("now"),
    )
)
_REMEMBER = Precompiled(
    insert(t.idempotency).values(
        key=bindparam("key"),
        kiosk_id=bindparam("kiosk_id"),
        fingerprint=bindparam("fingerprint"),
        status_code=bindparam("status_code"),
        response=bindparam("response"),
        created_at=bindparam("now"),
    )
)


def _answer(fingerprint: str, stored: str, status: int, response: str) -> JSONResponse:
    """The stored answer of an earlier upload with this idempotency key."""
    if stored != fingerprint:
        raise ApiError(
            409,
            "idempotency_key_reused",
            *said("idempotency_key_reused"),
        )
    return JSONResponse(json.loads(response), status_code=status)


def _replay(conn: Connection, key: str, fingerprint: str) -> JSONResponse | None:
    """The stored answer of an earlier upload with this idempotency key, if any."""
    row = _REPLAY.first(conn, key=key)
    if row is None:
        return None
    return _answer(fingerprint, row.fingerprint, row.status_code, row.response)


@router.post(
    "/photos",
    status_code=201,
    response_model=OrderOut,
    responses=_err(403, 409, 413, 422),
)
def upload_photo(
    request: Request,
    center: CenterDep,
    kiosk: Kiosk,
    collection_code: Annotated[str, Form(pattern=CODE_PATTERN)],
    idempotency_key: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.:\-]{8,100}$")],
    photo: Annotated[UploadFile, File(description="image/jpeg, 480×640")],
) -> Any:
    """Take a photo version; a retry with the same key returns the first answer.

    Needs the session grant or the upload ticket of this code's order (header
    ``X-Kiosk-Grant``).
    """
    grant = _grant(center, request, kiosk, collection_code, (grants.SESSION, grants.UPLOAD))
    max_bytes = int(center.conf("upload.max_bytes"))
    data = photo.file.read(max_bytes + 1)
    digest = hashlib.sha256(data)  # once: the store's key and the idempotency fingerprint
    fingerprint = hashlib.sha256(
        collection_code.encode() + b"\0" + digest.digest()
    ).hexdigest()
    refuse_outside_hard_limits(data, str(center.conf("upload.spec")))
    # verified; StoreUnavailable -> 503, the outbox retries
    sha = center.store.put(data, sha=digest.hexdigest())
    now = time.time()
    # One transaction, few round trips: the order row (locked) together with any
    # earlier upload under this key, then four writes. The file is durable
    # before the row that names it commits.
    try:
        with center.db.write() as conn:
            order = _ORDER_AND_REPLAY.first(conn, key=idempotency_key, order_id=grant.order_id)
            if order.replay_key is not None:
                return _answer(
                    fingerprint,
                    order.replay_fingerprint,
                    order.replay_status,
                    order.replay_response,
                )
            if order.state not in orders.UPLOADABLE:
                # A concurrent retry of this very upload may have committed while we
                # waited for the row lock (PostgreSQL): then it is a replay, not a 409.
                replay = _replay(conn, idempotency_key, fingerprint)
                if replay is not None:
                    return replay
                raise order_locked(orders.LABELS[order.state])
            version = order.version + 1
            version_id = _NEW_VERSION.scalar(
                conn,
                order_id=order.id,
                version_no=version,
                sha256=sha,
                size=len(data),
                kiosk_id=kiosk[0],
                created_at=now,
                check_state=QUEUED if center.check_queued else OFF,
            )
            if center.check_queued:
                jobs.enqueue(conn, version_id, now)  # any worker on any host runs it
            _TO_PENDING.run(conn, order_id=order.id, version=version, now=now)
            body = {"order": orders.order_view(order, state=orders.PENDING, version=version)}
            _REMEMBER.run(
                conn,
                key=idempotency_key,
                kiosk_id=kiosk[0],
                fingerprint=fingerprint,
                status_code=201,
                response=json.dumps(body, ensure_ascii=False),
                now=now,
            )
            orders.audit(conn, _actor(kiosk), "upload", order.order_no, f"version {version}")
    except IntegrityError:
        # A concurrent retry with the same key won the race: answer as it did.
        with center.db.read() as conn:
            replay = _replay(conn, idempotency_key, fingerprint)
        if replay is None:
            raise
        return replay
    center.checks.poke()
    log.debug("upload %s version %s", code_ref(collection_code), version)
    return JSONResponse(body, status_code=201)


@router.post("/orders/status", response_model=OrderOut, responses=_err(403))
def order_status(body: CodeIn, request: Request, center: CenterDep, kiosk: Kiosk) -> Any:
    grant = _grant(center, request, kiosk, body.collection_code)
    with center.db.read() as conn:
        row = _order(conn, grant)
    return {"order": orders.order_view(row)}


@router.post("/orders/withdraw", response_model=OrderOut, responses=_err(403, 409))
def withdraw(body: CodeIn, request: Request, center: CenterDep, kiosk: Kiosk) -> Any:
    """撤回审核: a pending photo goes back to 待上传 so the student can retake it."""
    grant = _grant(center, request, kiosk, body.collection_code)
    with center.db.write() as conn:
        order = _order(conn, grant, lock=True)
        if order.state != orders.PENDING:
            raise order_locked(orders.LABELS[order.state])
        conn.execute(
            update(t.orders)
            .where(t.orders.c.id == order.id)
            .values(state=orders.AWAITING, updated_at=time.time())
        )
        orders.audit(conn, _actor(kiosk), "withdraw", order.order_no, f"version {order.version}")
    return {"order": orders.order_view(order, state=orders.AWAITING)}


def _completed(conn: Connection, grant: Grant) -> Any:
    order = _order(conn, grant)
    if order.state != orders.COMPLETED:
        raise order_locked(orders.LABELS[order.state])
    return order


@router.post("/grants/end", response_model=EndOut, responses=_err())
def end_grant(request: Request, center: CenterDep, kiosk: Kiosk) -> Any:
    """The student's session ended (or the screen wiped itself): the grant stops now.

    Same answer whatever the header held; upload tickets stay valid.
    """
    with center.db.write() as conn:
        grants.end(conn, grants.header_token(request.headers), kiosk[0])
    return {"ended": True}


@router.post("/reprints", response_model=ReprintOut, responses=_err(403, 409, 422))
def create_reprint(body: ReprintIn, request: Request, center: CenterDep, kiosk: Kiosk) -> Any:
    """加洗照片: printed at the booth or mailed to an address."""
    grant = _grant(center, request, kiosk, body.collection_code)
    if body.layout not in center.conf("reprint.layouts"):
        raise bad_request("unknown_layout", *said("unknown_layout"))
    if body.copies > int(center.conf("reprint.max_copies")):
        raise bad_request("too_many_copies", *said("too_many_copies"))
    address = (body.address or "").strip()
    if body.delivery == "mail" and len(address) < 5:
        raise bad_request(
            "address_required", *said("address_required")
        )
    now = time.time()
    with center.db.write() as conn:
        order = _completed(conn, grant)
        for _ in range(5):
            number = orders.make_number(now)
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(t.reprints).values(
                            reprint_no=number,
                            order_id=order.id,
                            layout=body.layout,
                            copies=body.copies,
                            delivery=body.delivery,
                            address=address if body.delivery == "mail" else None,
                            state=orders.REPRINT_TO_SHIP,
                            kiosk_id=kiosk[0],
                            created_at=now,
                            updated_at=now,
                        )
                    )
                break
            except IntegrityError:
                continue
        orders.audit(
            conn, _actor(kiosk), "reprint", order.order_no, f"{number} layout {body.layout}"
        )
    return {
        "reprint_no": number,
        "state": orders.REPRINT_TO_SHIP,
        "label": orders.REPRINT_LABELS[orders.REPRINT_TO_SHIP],
    }


@router.post("/reprints/printed", response_model=ReprintOut, responses=_err(404, 409))
def reprint_printed(body: ReprintPrintedIn, center: CenterDep, kiosk: Kiosk) -> Any:
    """The booth printed a reprint order: 待发货 → 已发货.

    Only the kiosk that ordered a booth reprint may mark it, with or without the
    student's grant (the printer may have run out of paper and printed after the
    session ended). Anything else -- another kiosk's reprint, a mailed one -- is
    "no such reprint order"; mailed reprints are shipped by staff in the console.
    """
    with center.db.write() as conn:
        row = conn.execute(
            select(t.reprints).where(t.reprints.c.reprint_no == body.reprint_no).with_for_update()
        ).first()
        if row is None or row.kiosk_id != kiosk[0] or row.delivery != "booth":
            raise not_found("reprint order")
        if row.state == orders.REPRINT_REFUNDED:
            raise ApiError(
                409, "reprint_refunded", *said("reprint_refunded")
            )
        if row.state == orders.REPRINT_TO_SHIP:
            conn.execute(
                update(t.reprints)
                .where(t.reprints.c.id == row.id)
                .values(state=orders.REPRINT_SHIPPED, updated_at=time.time())
            )
            orders.audit(conn, _actor(kiosk), "reprint_printed", None, body.reprint_no)
    return {
        "reprint_no": body.reprint_no,
        "state": orders.REPRINT_SHIPPED,
        "label": orders.REPRINT_LABELS[orders.REPRINT_SHIPPED],
    }


@router.post("/email", status_code=202, response_model=EmailOut, responses=_err(403, 409))
def send_email(body: EmailIn, request: Request, center: CenterDep, kiosk: Kiosk) -> Any:
    """Queue the photo for e-mail; the sender thread delivers it (state in the console)."""
    grant = _grant(center, request, kiosk, body.collection_code)
    now = time.time()
    with center.db.write() as conn:
        order = _completed(conn, grant)
        request_id = conn.execute(
            insert(t.email_requests)
            .values(
                order_id=order.id,
                name=body.name.strip(),
                email=body.email.strip(),
                state="queued",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .returning(t.email_requests.c.id)
        ).scalar_one()
        orders.audit(
            conn, _actor(kiosk), "email_requested", order.order_no, f"request {request_id}"
        )
    center.mailer.poke()
    return JSONResponse({"request_id": request_id, "state": "queued"}, status_code=202)


@router.post("/download-link", response_model=LinkOut, responses=_err(403, 409))
def download_link(body: CodeIn, request: Request, center: CenterDep, kiosk: Kiosk) -> Any:
    grant = _grant(center, request, kiosk, body.collection_code)
    with center.db.read() as conn:
        row = _completed(conn, grant)
    expires = int(time.time() + 60 * float(center.conf("download_link_minutes")))
    token = links.make_token(center.link_secret, row.order_no, row.version, expires)
    base = (center.conf("public_url") or str(request.base_url)).rstrip("/")
    return {"url": f"{base}/d/{token}", "expires_at": _iso(expires)}


@router.post("/heartbeat", response_model=HeartbeatOut, responses=_err())
def heartbeat(body: HeartbeatIn, center: CenterDep, kiosk: Kiosk) -> Any:
    now = time.time()
    with center.db.write() as conn:
        conn.execute(
            update(t.kiosks)
            .where(t.kiosks.c.id == kiosk[0])
            .values(last_seen=now, heartbeat=json.dumps(body.model_dump(), ensure_ascii=False))
        )
    return {"server_time": _iso(now)}


@router.get("/keys", response_model=KeysOut, responses=_err())
def keys(center: CenterDep, kiosk: Kiosk) -> Any:
    """Public keys that verify batch and region QR posters."""
    return {"context_public_keys": center.public_keys}


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


public = APIRouter(tags=["public"])


@public.get("/healthz")
def healthz(center: CenterDep) -> dict[str, Any]:
    with center.db.read() as conn:
        conn.execute(select(1))
    return {"ok": True}


_EXPIRED = """<!doctype html><meta charset="utf-8"><title>{title}</title>
<p>{zh}</p><p>{en}</p>""".format(
    title=said_zh("link_expired_title"),
    zh=said("link_expired")[0],
    en=said("link_expired")[1],
)


@public.get(
    "/d/{token}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, 410: {"content": {"text/html": {}}}},
)
def download(token: str, center: CenterDep) -> Any:
    """The student's photo behind a signed, expiring link (no login)."""
    found = links.read_token(center.link_secret, token)
    if found is None:
        return HTMLResponse(_EXPIRED, status_code=410)
    order_no, version = found
    with center.db.read() as conn:
        row = conn.execute(
            select(t.orders.c.state, t.photo_versions.c.sha256)
            .join(t.photo_versions, t.photo_versions.c.order_id == t.orders.c.id)
            .where(t.orders.c.order_no == order_no, t.photo_versions.c.version_no == version)
        ).first()
    if row is None or row.state != orders.COMPLETED:
        return HTMLResponse(_EXPIRED, status_code=410)
    return photo_response(center.store, row.sha256, filename=f"{order_no}.jpg")
