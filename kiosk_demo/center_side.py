"""What the center's staff do during a scripted session, through the center's
admin and review functions (never its tables): a reviewer approves or rejects a
photo, an order is completed, the reprint list is read.
"""

from __future__ import annotations

from typing import Any

from kiosk_demo.data import scenario


class NotPending(AssertionError):
    pass


def decide(server: Any, order_no: str, decision: str, reason_text: str = "") -> None:
    """``approve``, ``reject`` (with the demo's reason) or ``complete`` (approve, then the
    order is completed) the pending photo of ``order_no`` at ``server`` (the embedded
    center's ``center.runner.ServerThread``)."""
    from center import admin, review

    db = server.db
    who = scenario("reviewer")
    reviewer = admin.reviewer_id(db, who["name"])
    if reviewer is None:
        admin.add_reviewer(db, who["name"], who["password"], actor="demo")
        reviewer = admin.reviewer_id(db, who["name"])
    assert reviewer is not None
    pending = review.next_pending(db)
    while pending is not None and pending.order_no != order_no:
        pending = review.next_pending(db, pending.id)
    if pending is None:
        raise NotPending(f"order {order_no} not pending at the center")
    reject = scenario("reject")
    rejecting = decision == "reject"
    review.decide(db, pending.id, (reviewer, who["name"]),
                  "reject" if rejecting else "approve",
                  reason_code=reject["reason_code"] if rejecting else None,
                  reason_text=(reason_text or reject["reason_text"]) if rejecting else None)
    if decision == "complete":
        review.complete(db, [order_no], "demo")


def reprint_states(server: Any) -> list[str]:
    """States of the reprint orders, as the console's reprint list shows them."""
    from center.console import reprints

    return [row.state for row in reprints.listing(server.db, reprints.ALL, 100)]


def poster(server: Any, kind: str, ident: str) -> str:
    """The signed QR text of the poster the center prints for a batch or region."""
    from center.posters import poster_payload

    return poster_payload(server.center, kind, ident)
