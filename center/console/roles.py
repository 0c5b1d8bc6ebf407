"""Console roles: a reviewer reviews; an administrator also runs the center.

A reviewer may review (approve, reject, claims, undo of their own recent
decisions), see batches, export, complete orders, mark reprints shipped and
retry e-mails. Only an administrator may import rosters, manage kiosks
(disable, enable, re-key), refund reprints and undo anyone's decision; users,
kiosk registration and purges are command-line only (``kiosk center ...``),
which is itself administration.

The role is the ``reviewers.is_admin`` flag, read with the session on every
request, so a demotion holds at the next click. Every admin-only route asks
:func:`require_admin` on the server; the pages only hide what the role cannot
use. A refusal is a 403 page with a Chinese sentence from
``config/messages/console.toml`` ``[roles]`` and an audit line with the role.

The audit log names console users ``reviewer:NAME`` whatever their role (as
before roles); the role is written where it is decided: at each sign-in
(``role admin``), when it is set (``reviewer_password``: ``(admin)``) and on
each refusal, so every line can be traced to the role it was done under.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from center import orders
from center.console import session, words
from center.console.pages import page

REVIEWER = "reviewer"
ADMIN = "admin"


def role(request: Request) -> str:
    return ADMIN if session.is_admin(request) else REVIEWER


def require_admin(request: Request, who: tuple[int, str], action: str) -> Response | None:
    """None for an administrator; otherwise the 403 page, and the attempt audited."""
    if session.is_admin(request):
        return None
    center = request.app.state.center
    with center.db.write() as conn:
        orders.audit(conn, f"reviewer:{who[1]}", "forbidden", None, f"role {role(request)}: {action}")
    return page(
        request,
        "forbidden.html",
        status=403,
        message=words.label("roles", "forbidden"),
        action=words.label("role_actions", action),
    )
