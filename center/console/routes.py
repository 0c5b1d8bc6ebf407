"""Console pages: sign-in, review one photo at a time, decisions and undo, batches,
reprint orders, kiosks and e-mails, audit log.

Server-rendered with jinja2. The review page's only script is the keyboard
(a approve, r reject, 1-9 reasons, u undo, z zoom, g guides, f report, s skip),
with a guard time after the photo appears, and a poll that keeps the photo
claimed and reloads when a photo or the background check's report arrives.
The queue's rules live in ``center.review``, the words in ``center.console.words``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select
from starlette.background import BackgroundTask

from center import orders
from center import review as review_q
from center import schema as t
from center.admin import RosterInvalid, import_roster
from center.console import reprints as reprint_list
from center.console import roles, session, words
from center.console.pages import page as _page
from center.retention import mark_exported
from center.review import complete
from center.storage.http import photo_response
from center.upload_rules import hard_limits
from center.words import said_zh
from kiosk.errors import KioskError
from kiosk.redact import mask_name

console = APIRouter(prefix="/console", include_in_schema=False)
MAX_ID = 2**63 - 1  # larger ids cannot exist in the database: 422, never a 500


def _back(url: str, msg: str = "") -> RedirectResponse:
    from urllib.parse import quote

    sep = "&" if "?" in url else "?"
    return RedirectResponse(url + (f"{sep}msg={quote(msg)}" if msg else ""), status_code=303)


def _guard(request: Request, csrf: str) -> tuple[int, str] | Response:
    who = session.current(request)
    if who is None:
        return _back("/console/login")
    if not session.csrf_ok(request, csrf):
        return HTMLResponse(said_zh("stale_form"), status_code=403)
    return who


@console.get("/login")
def login_form(request: Request) -> Response:
    return _page(request, "login.html", who=None)


@console.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    center = request.app.state.center
    center.sweep_maybe()
    source = request.client.host if request.client else ""
    who, wait = session.check_login(center, name.strip(), password, source)
    if who is None:
        if wait:
            resp = _page(
                request,
                "login.html",
                status=429,
                who=None,
                error=said_zh("login_throttled", wait=wait),
            )
            resp.headers["Retry-After"] = str(wait)
            return resp
        return _page(request, "login.html", status=401, who=None, error=said_zh("login_wrong"))
    token, lifetime = session.start_session(center, who[0])
    signed_in = _back("/console/review")
    signed_in.set_cookie(
        session.COOKIE,
        token,
        max_age=lifetime,
        httponly=True,
        samesite="strict",
        secure=str(center.conf("public_url") or "").startswith("https"),
        path="/console",
    )
    role = roles.ADMIN if review_q.is_admin(center.db, who[0]) else roles.REVIEWER
    with center.db.write() as conn:
        orders.audit(conn, f"reviewer:{who[1]}", "sign_in", None, f"role {role}")
    return signed_in


@console.post("/logout")
def logout(request: Request) -> Response:
    """Ends the session on the server: the cookie is worthless from now on."""
    session.end_session(request.app.state.center, request.cookies.get(session.COOKIE))
    resp = _back("/console/login")
    resp.delete_cookie(session.COOKIE, path="/console")
    return resp


@console.get("")
@console.get("/")
def home(request: Request) -> Response:
    return _back("/console/review" if session.current(request) else "/console/login")


def _rules(request: Request) -> review_q.Rules:
    return review_q.Rules.from_conf(request.app.state.center.conf("review") or {})


def _presets(request: Request) -> dict[str, words.Preset]:
    return words.all_presets(request.app.state.center.conf("review.reasons") or [])


def _report_of(row: Any) -> tuple[words.ReportView | None, str]:
    """The background check's report of a version, or a note saying why there is none."""
    if row.check_state == "done" and row.check_report:
        return words.report_view(json.loads(row.check_report)), ""
    if row.check_state in ("queued", "running"):
        return None, said_zh("check_running")
    if row.check_state == "unavailable":
        return None, said_zh("check_unavailable")
    return None, said_zh("check_off")


def _retake_flags(row: Any, prev: Any, report: dict[str, Any] | None) -> list[str]:
    flags = []
    if prev is not None and prev.sha256 == row.sha256:
        flags.append(said_zh("retake_same_file"))
    retake = (report or {}).get("retake") or {}
    if retake.get("same_person") is False:
        flags.append(said_zh("retake_other_face"))
    return flags


def _undoable(request: Request, who: tuple[int, str]) -> int:
    """The review id the reviewer just made (``?done=``), if it is still theirs to undo."""
    try:
        rid = int(request.query_params.get("done", "0"))
    except ValueError:
        return 0
    if rid <= 0 or rid > 2**62:
        return 0
    rows = [r for r in review_q.recent_decisions(request.app.state.center.db, 20) if r.id == rid]
    if not rows or rows[0].reviewer_id != who[0] or rows[0].undone_at is not None:
        return 0
    return rid if time.time() - rows[0].created_at <= _rules(request).undo_seconds else 0


def _int_param(request: Request, name: str) -> int:
    try:
        value = int(request.query_params.get(name, "0"))
    except ValueError:
        return 0
    return value if 0 < value < 2**62 else 0


@console.get("/review")
def review(request: Request, after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Response:
    who = session.current(request)
    if who is None:
        return _back("/console/login")
    center = request.app.state.center
    rules = _rules(request)
    row = review_q.claim_next(
        center.db, who[0], rules, skip=_int_param(request, "skip"), want=_int_param(request, "want")
    )
    limits = hard_limits(str(center.conf("upload.spec")))
    ctx: dict[str, Any] = {
        "row": row,
        "queue": review_q.queue_status(center.db, who[0]),
        "undo_review": _undoable(request, who),
        "undo_minutes": int(rules.undo_seconds // 60),
        "guard_ms": int(rules.guard_seconds * 1000),
        "poll_ms": int(1000 * float(center.conf("review.poll_seconds", 5))),
        "size": (limits.width, limits.height),
        "bands": {k: center.conf(f"review.{k}") for k in ("hair_top", "eye_line", "face_width")},
    }
    if row is not None:
        raw = (
            json.loads(row.check_report) if row.check_state == "done" and row.check_report else None
        )
        report, check_note = _report_of(row)
        presets = _presets(request)
        shown = words.shown_reasons(report, presets)
        on_page = {p.code for p, _ in shown}
        more: dict[str, list[words.Preset]] = {}
        for p in presets.values():
            if p.code not in on_page:
                more.setdefault(p.label, []).append(p)
        prev, prev_review = (None, None)
        if row.version_no > 1:
            prev, prev_review = review_q.previous_version(center.db, row.order_id, row.version_no)
        ctx.update(
            report=report,
            check_note=check_note,
            reasons=shown,
            more_reasons=list(more.items()),
            masked_name=mask_name(row.name),
            prev=prev,
            prev_review=prev_review,
            prev_review_label=words.label("decisions", prev_review.decision) if prev_review else "",
            retake_flags=_retake_flags(row, prev, raw) if prev is not None else [],
        )
    return _page(request, "review.html", **ctx)


@console.get("/review/status.json")
def review_status(request: Request) -> Response:
    """The review page's poll: queue figures; renews the claim on the photo shown."""
    who = session.current(request)
    if who is None:
        return JSONResponse({"error": "signed out"}, status_code=403)
    center = request.app.state.center
    status: dict[str, Any] = review_q.queue_status(center.db, who[0])
    status["available"] = status["pending"] - status["held_by_others"]
    vid = _int_param(request, "v")
    if vid:
        status["held"] = review_q.renew_claim(center.db, vid, who[0], _rules(request))
        row = review_q.version_row(center.db, vid)
        status["check_state"] = row.check_state if row is not None else ""
    return JSONResponse(status)


@console.post("/review/{version_id}")
async def review_decide(request: Request, version_id: int) -> Response:
    form = await request.form()
    who = _guard(request, str(form.get("csrf", "")))
    if isinstance(who, Response):
        return who
    if not 0 < version_id < 2**62:
        return HTMLResponse(said_zh("no_such_photo"), status_code=404)
    center = request.app.state.center
    decision = str(form.get("decision", ""))
    try:
        version_no = int(str(form.get("version_no", "")))
    except ValueError:
        return _back("/console/review", said_zh("form_no_version"))
    if decision not in ("approve", "reject"):
        return _back("/console/review", said_zh("unknown_review_action"))
    presets = _presets(request)
    codes = list(dict.fromkeys(str(v) for v in form.getlist("reason") if str(v)))[:12]
    note = " ".join(str(form.get("note", "")).split())[:200]
    text = None
    if decision == "reject":
        if any(c not in presets for c in codes):
            return _back("/console/review", said_zh("unknown_reason"))
        if not codes:
            return _back("/console/review", said_zh("reason_unchecked"))
        if any(presets[c].note_required for c in codes) and len(note) < 4:
            return _back("/console/review", said_zh("other_needs_note"))
        row = review_q.version_row(center.db, version_id)
        report = _report_of(row)[0] if row is not None else None
        text = words.compose_text(codes, presets, report, note)
    else:
        codes = []
    try:
        order_no, review_id = review_q.decide_full(
            center.db,
            version_id,
            who,
            decision,
            None,
            text,
            version_no=version_no,
            reason_codes=codes,
            rules=_rules(request),
        )
    except review_q.TooFast as exc:
        return _back("/console/review", exc.zh)
    except KioskError as exc:
        return _back(f"/console/review?skip={version_id}", exc.zh)
    label = said_zh("decided_approve" if decision == "approve" else "decided_reject")
    return _back(f"/console/review?done={review_id}", said_zh("review_done", order_no=order_no, label=label))


@console.post("/review/undo/{review_id}")
def review_undo(request: Request, review_id: int, csrf: Annotated[str, Form()]) -> Response:
    who = _guard(request, csrf)
    if isinstance(who, Response):
        return who
    if not 0 < review_id < 2**62:
        return HTMLResponse(said_zh("no_such_review"), status_code=404)
    center = request.app.state.center
    admin = review_q.is_admin(center.db, who[0])
    try:
        order_no, version_id = review_q.undo(center.db, review_id, who, _rules(request), admin)
    except KioskError as exc:
        back = request.headers.get("referer", "")
        page = "/console/decisions" if "/console/decisions" in back else "/console/review"
        return _back(page, said_zh("undo_refused", zh=exc.zh))
    return _back(f"/console/review?want={version_id}", said_zh("undone", order_no=order_no))


@console.get("/decisions")
def decisions(request: Request, order_no: str = "") -> Response:
    """The newest decisions with their undo buttons, and each reviewer's count today."""
    who = session.current(request)
    if who is None:
        return _back("/console/login")
    center = request.app.state.center
    order_no = order_no.strip()[:18]
    rules = _rules(request)
    admin = review_q.is_admin(center.db, who[0])
    rows = review_q.recent_decisions(center.db, 200, order_no)
    now = time.time()

    def undoable(r: Any) -> bool:
        if r.undone_at is not None or r.exported_at is not None or r.order_version != r.version_no:
            return False
        if r.state != (orders.PROCESSING if r.decision == "approve" else orders.REJECTED):
            return False
        return admin or (r.reviewer_id == who[0] and now - r.created_at <= rules.undo_seconds)

    return _page(
        request,
        "decisions.html",
        rows=rows,
        undoable={r.id for r in rows if undoable(r)},
        per_reviewer=review_q.per_reviewer_today(center.db),
        admin=admin,
        order_no=order_no,
        labels=orders.LABELS,
        decision_labels=words.words()["decisions"],
        undo_minutes=int(rules.undo_seconds // 60),
    )


@console.get("/photos/{version_id}.jpg")
def photo(request: Request, version_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]) -> Response:
    if session.current(request) is None:
        return Response(status_code=403)
    center = request.app.state.center
    with center.db.read() as conn:
        sha = conn.execute(
            select(t.photo_versions.c.sha256).where(t.photo_versions.c.id == version_id)
        ).scalar()
    if sha is None:
        return Response(status_code=404)
    return photo_response(center.store, sha)


def _batches_page(request: Request, status: int = 200, **extra: Any) -> Response:
    center = request.app.state.center
    with center.db.read() as conn:
        rows = conn.execute(select(t.batches).order_by(t.batches.c.id)).all()
        regions = conn.execute(select(t.regions).order_by(t.regions.c.id)).all()
        counts: dict[str, dict[str, int]] = {}
        for batch_id, state, n in conn.execute(
            select(t.students.c.batch_id, t.orders.c.state, func.count())
            .join(t.orders, t.orders.c.student_id == t.students.c.id, isouter=True)
            .group_by(t.students.c.batch_id, t.orders.c.state)
        ):
            counts.setdefault(batch_id, {})[state or orders.AWAITING] = (
                counts.get(batch_id, {}).get(state or orders.AWAITING, 0) + n
            )
    return _page(
        request,
        "batches.html",
        status=status,
        batches=rows,
        regions=regions,
        counts=counts,
        labels=orders.LABELS,
        **extra,
    )


@console.get("/batches")
def batches(request: Request) -> Response:
    if session.current(request) is None:
        return _back("/console/login")
    return _batches_page(request)


@console.post("/roster")
async def roster(
    request: Request, csrf: Annotated[str, Form()], file: Annotated[UploadFile, File()]
) -> Response:
    """A roster file (CSV in UTF-8 or GBK, or .xlsx); bad rows are listed by line, in Chinese."""
    who = _guard(request, csrf)
    if isinstance(who, Response):
        return who
    denied = roles.require_admin(request, who, "roster_import")
    if denied is not None:
        return denied
    center = request.app.state.center
    max_bytes = int(center.conf("review.roster_max_bytes", 5 * 1024 * 1024))
    data = await file.read(max_bytes + 1)
    from starlette.concurrency import run_in_threadpool

    try:
        result = await run_in_threadpool(
            import_roster,
            center.db,
            data,
            f"reviewer:{who[1]}",
            max_bytes,
            int(center.conf("review.roster_max_rows", 20000)),
        )
    except RosterInvalid as exc:
        return _batches_page(
            request, status=422, import_title=said_zh("roster_refused"), import_errors=exc.errors
        )
    except KioskError as exc:
        return _batches_page(request, status=422, import_title=said_zh("import_failed"), import_errors=[exc.zh])
    return _back("/console/batches", said_zh("roster_imported", added=result.added, updated=result.updated))


def _batch_query(batch_id: str, state: str, q: str) -> Any:
    """The batch's students with their order and current version, filtered."""
    pv = t.photo_versions
    query = (
        select(
            t.students.c.collection_code,
            t.students.c.name,
            t.students.c.school,
            t.orders.c.order_no,
            t.orders.c.state,
            t.orders.c.version,
            t.orders.c.updated_at,
            pv.c.id.label("version_id"),
        )
        .join(t.orders, t.orders.c.student_id == t.students.c.id, isouter=True)
        .join(
            pv,
            (pv.c.order_id == t.orders.c.id) & (pv.c.version_no == t.orders.c.version),
            isouter=True,
        )
        .where(t.students.c.batch_id == batch_id)
    )
    if state == orders.AWAITING:
        query = query.where((t.orders.c.state == orders.AWAITING) | t.orders.c.state.is_(None))
    elif state in orders.LABELS:
        query = query.where(t.orders.c.state == state)
    q = q.strip()
    if q:
        if "*" in q or not q.isascii():
            # a masked name such as 吴* or 吴**: first character and length
            first = q[0]
            query = query.where(t.students.c.name.like(first.replace("%", "") + "%"))
            if "*" in q:
                query = query.where(func.length(t.students.c.name) == len(q))
        else:
            safe = q.replace("\\", "").replace("%", "").replace("_", "")
            query = query.where(t.students.c.collection_code.like(f"%{safe}%"))
    return query


@console.get("/batches/{batch_id}")
def batch(request: Request, batch_id: str, state: str = "", q: str = "", page: int = 1) -> Response:
    if session.current(request) is None:
        return _back("/console/login")
    center = request.app.state.center
    per_page = int(center.conf("review.batch_page_rows", 50))
    state = state if state in orders.LABELS else ""
    q = q[:40]
    with center.db.read() as conn:
        b = conn.execute(select(t.batches).where(t.batches.c.id == batch_id)).first()
        if b is None:
            return HTMLResponse(said_zh("no_such_batch"), status_code=404)
        query = _batch_query(batch_id, state, q)
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        rows = conn.execute(
            query.order_by(t.students.c.collection_code)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        counts = dict(
            conn.execute(
                select(func.coalesce(t.orders.c.state, orders.AWAITING), func.count())
                .select_from(t.students)
                .join(t.orders, t.orders.c.student_id == t.students.c.id, isouter=True)
                .where(t.students.c.batch_id == batch_id)
                .group_by(func.coalesce(t.orders.c.state, orders.AWAITING))
            ).all()
        )
    return _page(
        request,
        "batch.html",
        batch=b,
        rows=rows,
        labels=orders.LABELS,
        state=state,
        q=q,
        page=page,
        pages=pages,
        total=total,
        counts=counts,
        masked={r.collection_code: mask_name(r.name) for r in rows},
    )


@console.post("/batches/{batch_id}/complete")
async def batch_complete(request: Request, batch_id: str) -> Response:
    form = await request.form()
    who = _guard(request, str(form.get("csrf", "")))
    if isinstance(who, Response):
        return who
    center = request.app.state.center
    chosen = [str(v) for v in form.getlist("order_no")]
    if form.get("all"):
        with center.db.read() as conn:
            chosen = [
                r[0]
                for r in conn.execute(
                    select(t.orders.c.order_no)
                    .join(t.students, t.students.c.id == t.orders.c.student_id)
                    .where(t.students.c.batch_id == batch_id, t.orders.c.state == orders.PROCESSING)
                )
            ]
    from starlette.concurrency import run_in_threadpool

    n = await run_in_threadpool(complete, center.db, chosen, f"reviewer:{who[1]}")
    return _back(f"/console/batches/{batch_id}", said_zh("orders_completed", n=n))


@console.get("/batches/{batch_id}/export.zip")
def export(request: Request, batch_id: str) -> Response:
    """Approved photos (待处理 and 订单完成) named ``<collection code>.jpg``."""
    who = session.current(request)
    if who is None:
        return _back("/console/login")
    center = request.app.state.center
    with center.db.read() as conn:
        rows = conn.execute(
            select(t.students.c.collection_code, t.photo_versions.c.sha256, t.orders.c.id)
            .join(t.orders, t.orders.c.student_id == t.students.c.id)
            .join(
                t.photo_versions,
                (t.photo_versions.c.order_id == t.orders.c.id)
                & (t.photo_versions.c.version_no == t.orders.c.version),
            )
            .where(
                t.students.c.batch_id == batch_id,
                t.orders.c.state.in_([orders.PROCESSING, orders.COMPLETED]),
            )
        ).all()
    fd, tmp = tempfile.mkstemp(suffix=".zip")
    with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        for code, sha, _ in rows:
            with zf.open(f"{code}.jpg", "w") as member:  # streamed from the store
                for piece in center.store.iter_chunks(sha):
                    member.write(piece)
    with center.db.write() as conn:
        review_q.mark_exported(conn, [r[2] for r in rows], time.time())
        orders.audit(conn, f"reviewer:{who[1]}", "export", None, f"{batch_id}: {len(rows)} photos")
        mark_exported(conn, batch_id)  # starts the retention clock (center/retention.py)
    return FileResponse(
        tmp,
        media_type="application/zip",
        filename=f"{batch_id}-approved.zip",
        background=BackgroundTask(os.unlink, tmp),
    )


@console.get("/posters/{kind}/{ident}.pdf")
def poster(request: Request, kind: str, ident: str) -> Response:
    if session.current(request) is None:
        return _back("/console/login")
    if kind not in ("batch", "region"):
        return HTMLResponse("no such poster", status_code=404)
    from center.posters import poster_pdf

    try:
        pdf = poster_pdf(request.app.state.center, kind, ident)
    except KioskError as exc:
        return HTMLResponse(f"{escape(exc.zh)} ({escape(exc.detail)})", status_code=404)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="poster-{kind}-{ident}.pdf"'},
    )


@console.get("/kiosks")
def kiosks(request: Request) -> Response:
    if session.current(request) is None:
        return _back("/console/login")
    center = request.app.state.center
    with center.db.read() as conn:
        rows = conn.execute(select(t.kiosks).order_by(t.kiosks.c.name)).all()
        mails = conn.execute(
            select(
                t.email_requests.c.id,
                t.email_requests.c.state,
                t.email_requests.c.attempts,
                t.email_requests.c.created_at,
                t.email_requests.c.sent_at,
                t.email_requests.c.last_error,
                t.orders.c.order_no,
            )
            .join(t.orders, t.orders.c.id == t.email_requests.c.order_id)
            .order_by(t.email_requests.c.id.desc())
            .limit(50)
        ).all()
    beats = {r.id: json.loads(r.heartbeat) if r.heartbeat else {} for r in rows}
    w = words.words()
    return _page(
        request,
        "kiosks.html",
        kiosks=rows,
        beats=beats,
        mails=mails,
        now=time.time(),
        parts=w["device_parts"],
        device_states=w["device_states"],
        email_states=w["email_states"],
        counters=w["counters"],
        mail_error=_mail_error,
        new_token=getattr(request.state, "new_token", ""),  # console/kiosk_admin.py
    )


def _mail_error(text: str | None) -> str:
    """A failed e-mail's error in Chinese; the exception text stays in the log."""
    if not text:
        return ""
    for needle, zh in words.words()["email_errors"].items():
        if needle.lower() in text.lower():
            return str(zh)
    return said_zh("email_failed")


@console.get("/audit")
def audit(request: Request, limit: int = 200) -> Response:
    if session.current(request) is None:
        return _back("/console/login")
    center = request.app.state.center
    with center.db.read() as conn:
        rows = conn.execute(
            select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(min(max(limit, 1), 2000))
        ).all()
    return _page(
        request,
        "audit.html",
        rows=rows,
        actions=words.words()["audit_actions"],
        detail=words.audit_detail,
    )


REPRINT_PAGE_ROWS = 500


def _reprint_filter(state: str) -> str:
    return state if state in (*reprint_list.STATES, reprint_list.ALL) else orders.REPRINT_TO_SHIP


@console.get("/reprints")
def reprints(request: Request, state: str = orders.REPRINT_TO_SHIP) -> Response:
    if session.current(request) is None:
        return _back("/console/login")
    db = request.app.state.center.db
    state = _reprint_filter(state)
    counts = reprint_list.counts(db)
    return _page(
        request,
        "reprints.html",
        state=state,
        rows=reprint_list.listing(db, state, REPRINT_PAGE_ROWS),
        counts=counts,
        total=sum(counts.values()) if state == reprint_list.ALL else counts[state],
        limit=REPRINT_PAGE_ROWS,
        labels=orders.REPRINT_LABELS,
    )


@console.post("/reprints/{reprint_no}/{action}")
def reprint_action(
    request: Request,
    reprint_no: str,
    action: str,
    csrf: Annotated[str, Form()],
    back: Annotated[str, Form()] = orders.REPRINT_TO_SHIP,
) -> Response:
    """mark shipped (mail only, 待发货 → 已发货) or refund (待发货 → 已退款)."""
    who = _guard(request, csrf)
    if isinstance(who, Response):
        return who
    page = f"/console/reprints?state={_reprint_filter(back)}"
    moves = {
        "ship": (orders.ship_reprint, orders.REPRINT_LABELS[orders.REPRINT_SHIPPED]),
        "refund": (orders.refund_reprint, orders.REPRINT_LABELS[orders.REPRINT_REFUNDED]),
    }
    if action not in moves:
        return HTMLResponse("no such action", status_code=404)
    if action == "refund":
        denied = roles.require_admin(request, who, "refund")
        if denied is not None:
            return denied
    move, label = moves[action]
    try:
        with request.app.state.center.db.write() as conn:
            order_no = move(conn, reprint_no, f"reviewer:{who[1]}")
    except KioskError as exc:
        return _back(page, said_zh("not_done", zh=exc.zh))
    return _back(page, said_zh("reprint_marked", reprint_no=reprint_no, order_no=order_no, label=label))


@console.post("/emails/{request_id}/retry")
def email_retry(request: Request, request_id: int, csrf: Annotated[str, Form()]) -> Response:
    """A failed e-mail back to the sender's queue."""
    who = _guard(request, csrf)
    if isinstance(who, Response):
        return who
    try:
        order_no = request.app.state.center.mailer.retry(request_id, f"reviewer:{who[1]}")
    except KioskError as exc:
        return _back("/console/kiosks", said_zh("not_done", zh=exc.zh))
    return _back("/console/kiosks", said_zh("email_requeued", request_id=request_id, order_no=order_no))
