"""The console's page renderer: the templates and what every page is given.

Apart from the routes so that the role check's 403 page (``roles``) renders
with the same frame without importing the routes, which import it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from center.console import session, words

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["ts"] = lambda v: (
    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v)) if v else "—"
)


def page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("who", session.current(request))
    ctx["is_admin"] = session.is_admin(request)  # pages hide what a reviewer cannot use
    ctx["role_words"] = words.words().get("roles", {})
    ctx.setdefault("flash", request.query_params.get("msg", ""))
    ctx["csrf"] = session.csrf_token(request)
    return templates.TemplateResponse(request, name, ctx, status_code=status)
