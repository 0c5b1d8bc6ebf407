"""Console: disable, enable or re-key a kiosk (center/kiosk_admin.py does the work).

Kept apart from routes.py so the review pages and the kiosk administration
change independently. A rotated token is shown once, on the page that answers
the POST, and never stored in clear.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import select

from center import schema as t
from center.console import roles
from center.console.routes import MAX_ID, _back, _guard, kiosks
from center.kiosk_admin import ACTIONS, apply
from kiosk.errors import KioskError

admin = APIRouter(prefix="/console", include_in_schema=False)


@admin.post("/kiosks/{kiosk_id}/{action}")
def kiosk_action(
    request: Request,
    kiosk_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    action: str,
    csrf: Annotated[str, Form()],
) -> Response:
    who = _guard(request, csrf)
    if isinstance(who, Response):
        return who
    denied = roles.require_admin(request, who, "kiosk_manage")
    if denied is not None:
        return denied
    if action not in ACTIONS:
        return _back("/console/kiosks", "没有这个操作。")
    db = request.app.state.center.db
    with db.read() as conn:
        name = conn.execute(select(t.kiosks.c.name).where(t.kiosks.c.id == kiosk_id)).scalar()
    if name is None:
        return _back("/console/kiosks", "没有这台自助机。")
    try:
        token = apply(db, action, name, actor=f"reviewer:{who[1]}")
    except KioskError as exc:
        return _back("/console/kiosks", f"未执行：{exc.zh}")
    if token:
        request.state.new_token = token  # kiosks() shows it once
        return kiosks(request)
    label = {"disable": "已停用", "enable": "已启用"}[action]
    return _back("/console/kiosks", f"自助机 {name} {label}")
