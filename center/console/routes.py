"""Console pages: sign-in, review one photo at a time, batches, reprint orders,
kiosks and e-mails, audit log.

Server-rendered with jinja2; the only script is a few lines of keyboard
shortcuts on the review page (a = approve, r = reject, 1–9 = preset reasons).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from starlette.background import BackgroundTask

from center import orders
from center import schema as t
from center.admin import import_roster
from center.console import reprints as reprint_list
from center.console import session
from center.retention import mark_exported
from center.review import complete, decide, next_pending, pending_count
from center.storage.http import photo_response
from kiosk.errors import KioskError

console = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["ts"] = lambda v: (
    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v)) if v else "—"
)


def _page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("who", session.current(request))
    ctx.setdefault("flash", request.query_params.get("msg", ""))
    ctx["csrf"] = session.csrf_token(request)
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def _back(url: str, msg: str = "") -> RedirectResponse:
    from urllib.parse import quote

    sep = "&" if "?" in url else "?"
    return RedirectResponse(url + (f"{sep}msg={quote(msg)}" if msg else ""), status_code=303)


def _guard(request: Request, csrf: str) -> tuple[int, str] | Response:
    who = session.current(request)
    if who is None:
        return _back("/console/login")
    if not session.csrf_ok(request, csrf):
        return HTMLResponse("表单已过期，请返回刷新后重试。 (stale form)", status_code=403)
    return who


@console.get("/login")
def login_form(request: Request) -> Response:
    return _page(request, "login.html", who=None)


@console.post("/login")
def login(
    request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()]
) -> Response:
    center = request.app.state.center
    who, locked = session.check_login(center, name.strip(), password)
    if who is None:
        msg = (
            f"登录失败次数过多，请 {locked // 60 + 1} 分钟后再试。"
            if locked
            else "用户名或密码不正确。"
        )
        return _page(request, "login.html", status=401, who=None, error=msg)
    resp = _back("/console/review")
    resp.set_cookie(
        session.COOKIE,
        session.make_cookie(center.session_secret, *who),
        max_age=session.LIFETIME,
        httponly=True,
        samesite="strict",
        secure=str(center.conf("public_url") or "").startswith("https"),
        path="/console",
    )
    with center.db.write() as conn:
        orders.audit(conn, f"reviewer:{who[1]}", "sign_in", None)
    return resp


@console.post("/logout")
def logout() -> Response:
    resp = _back("/console/login")
    resp.delete_cookie(session.COOKIE, path="/console")
    return resp


@console.get("")
@console.get("/")
def home(request: Request) -> Response:
    return _back("/console/review" if session.current(request) else "/console/login")


@console.get("/review")
def review(request: Request, after: int = 0) -> Response:
    who = session.current(request)
    if who is None:
        return _back("/console/login")
    center = request.app.state.center
    row = next_pending(center.db, after)
    if row is None and after:
        row = next_pending(center.db, 0)
    report, check_note = None, ""
    if row is not None:
        if row.check_state == "done" and row.check_report:
            report = json.loads(row.check_report)
        elif row.check_state in ("queued", "running"):
            check_note = "合规检查进行中，稍后刷新可见。 (check running)"
        elif row.check_state == "unavailable":
            check_note = "自动合规检查不可用。 (automatic check unavailable)"
        else:
            check_note = "未运行自动合规检查。 (automatic check off)"
    return _page(
        request,
        "review.html",
        row=row,
        report=report,
        check_note=check_note,
        pending=pending_count(center.db),
        reasons=center.conf("review.reasons")[:9],
        bands={k: center.conf(f"review.{k}") for k in ("hair_top", "eye_line", "face_width")},
        size=(int(center.conf("upload.width")), int(center.conf("upload.height"))),
    )


@console.post("/review/{version_id}")
def review_decide(
    request: Request,
    version_id: int,
    csrf: Annotated[str, Form()],
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    reason_code: Annotated[str, Form()] = "",
    reason_text: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    who = _guard(request, csrf)
    if isinstance(who, Response):
        return who
    center = request.app.state.center
    reasons = {r["code"]: r for r in center.conf("review.reasons")}
    text = reason_text.strip()
    if reason_code and reason_code not in reasons:
        return _back("/console/review", "未知的原因。")
    if decision == "reject" and reason_code and not text:
        text = reasons[reason_code]["zh"]
    try:
        order_no = decide(center.db, version_id, who, decision, reason_code or None, text or None)
    except KioskError as exc:
        return _back("/console/review", exc.zh)
    label = "已通过" if decision == "approve" else "已退回"
    return _back(f"/console/review?after={version_id}", f"订单 {order_no} {label}")


@console.get("/photos/{version_id}.jpg")
def photo(request: Request, version_id: int) -> Response:
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


@console.get("/batches")
def batches(request: Request) -> Response:
    if session.current(request) is None:
        return _back("/console/login")
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
        request, "batches.html", batches=rows, regions=regions, counts=counts, labels=orders.LABELS
    )


@console.post("/roster")
async def roster(
    request: Request, csrf: Annotated[str, Form()], file: Annotated[UploadFile, File()]
) -> Response:
    who = _guard(request, csrf)
    if isinstance(who, Response):
        return who
    data = await file.read()
    center = request.app.state.center
    from starlette.concurrency import run_in_threadpool

    try:
        result = await run_in_threadpool(import_roster, center.db, data, f"reviewer:{who[1]}")
    except KioskError as exc:
        return _back("/console/batches", f"导入失败：{exc.detail}")
    return _back("/console/batches", f"已导入：新增 {result.added}，更新 {result.updated}")


@console.get("/batches/{batch_id}")
def batch(request: Request, batch_id: str) -> Response:
    if session.current(request) is None:
        return _back("/console/login")
    center = request.app.state.center
    with center.db.read() as conn:
        b = conn.execute(select(t.batches).where(t.batches.c.id == batch_id)).first()
        if b is None:
            return HTMLResponse("no such batch", status_code=404)
        rows = conn.execute(
            select(
                t.students.c.collection_code,
                t.students.c.name,
                t.students.c.school,
                t.orders.c.order_no,
                t.orders.c.state,
                t.orders.c.version,
                t.orders.c.updated_at,
            )
            .join(t.orders, t.orders.c.student_id == t.students.c.id, isouter=True)
            .where(t.students.c.batch_id == batch_id)
            .order_by(t.students.c.collection_code)
        ).all()
    return _page(request, "batch.html", batch=b, rows=rows, labels=orders.LABELS)


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
    return _back(f"/console/batches/{batch_id}", f"已完成 {n} 个订单")


@console.get("/batches/{batch_id}/export.zip")
def export(request: Request, batch_id: str) -> Response:
    """Approved photos (待处理 and 订单完成) named ``<collection code>.jpg``."""
    who = session.current(request)
    if who is None:
        return _back("/console/login")
    center = request.app.state.center
    with center.db.read() as conn:
        rows = conn.execute(
            select(t.students.c.collection_code, t.photo_versions.c.sha256)
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
        for code, sha in rows:
            with zf.open(f"{code}.jpg", "w") as member:  # streamed from the store
                for piece in center.store.iter_chunks(sha):
                    member.write(piece)
    with center.db.write() as conn:
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
        return HTMLResponse(f"{exc.zh} ({exc.detail})", status_code=404)
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
    return _page(request, "kiosks.html", kiosks=rows, beats=beats, mails=mails, now=time.time())


@console.get("/audit")
def audit(request: Request, limit: int = 200) -> Response:
    if session.current(request) is None:
        return _back("/console/login")
    center = request.app.state.center
    with center.db.read() as conn:
        rows = conn.execute(
            select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(min(max(limit, 1), 2000))
        ).all()
    return _page(request, "audit.html", rows=rows)


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
    moves = {"ship": (orders.ship_reprint, "已发货"), "refund": (orders.refund_reprint, "已退款")}
    if action not in moves:
        return HTMLResponse("no such action", status_code=404)
    move, label = moves[action]
    try:
        with request.app.state.center.db.write() as conn:
            order_no = move(conn, reprint_no, f"reviewer:{who[1]}")
    except KioskError as exc:
        return _back(page, f"未执行：{exc.zh}")
    return _back(page, f"加洗订单 {reprint_no}（订单 {order_no}）已标记为{label}")


@console.post("/emails/{request_id}/retry")
def email_retry(request: Request, request_id: int, csrf: Annotated[str, Form()]) -> Response:
    """A failed e-mail back to the sender's queue."""
    who = _guard(request, csrf)
    if isinstance(who, Response):
        return who
    try:
        order_no = request.app.state.center.mailer.retry(request_id, f"reviewer:{who[1]}")
    except KioskError as exc:
        return _back("/console/kiosks", f"未执行：{exc.zh}")
    return _back("/console/kiosks", f"邮件请求 {request_id}（订单 {order_no}）已重新排队发送")
