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
from center.words import said_zh
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
        return _back("/console/kiosks", said_zh("no_such_action"))
    db = request.app.state.center.db
    with db.read() as conn:
        name = conn.execute(select(t.kiosks.c.name).where(t.kiosks.c.id == kiosk_id)).scalar()
    if name is None:
        return _back("/console/kiosks", said_zh("no_such_kiosk"))
    try:
        token = apply(db, action, name, actor=f"reviewer:{who[1]}")
    except KioskError as exc:
        return _back("/console/kiosks", said_zh("not_done", zh=exc.zh))
    if token:
        request.state.new_token = token  # kiosks() shows it once
        return kiosks(request)
    label = said_zh(f"kiosk_{action}d")
    return _back("/console/kiosks", said_zh("kiosk_switched", name=name, label=label))
