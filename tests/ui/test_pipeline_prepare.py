"""The pipeline worker lets the UI prepare a result in the worker, before it is posted.

The review screen renders its texts and decodes the photo there
(``KioskApp._prepare_review``), so the UI thread only uploads them; a failure
while preparing must never hold the result back.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

from kiosk.services.pipeline import PipelineWorker


def _run(make_photo: Any, prepare: Any) -> list[tuple[str, Any, str]]:
    events: list[tuple[str, Any, str]] = []
    done = threading.Event()

    def post(fn: Any, *args: Any) -> None:
        events.append(("posted", args[0], threading.current_thread().name))
        fn(*args)

    worker = PipelineWorker(post, make_photo)
    worker.prepare = lambda outcome: (events.append(
        ("prepared", outcome, threading.current_thread().name)), prepare(outcome))
    worker.process(b"jpeg", lambda _r: done.set(), lambda _e: done.set())
    assert done.wait(10)
    worker.stop()
    time.sleep(0.01)
    return events


def test_prepared_in_the_worker_before_it_is_posted() -> None:
    result = SimpleNamespace(report=SimpleNamespace(ok=True), jpeg=b"x")
    events = _run(lambda _j: result, lambda _o: None)
    assert [e[0] for e in events] == ["prepared", "posted"]
    assert events[0][1] is result and events[0][2] == "pipeline"


def test_a_refused_photo_is_prepared_too() -> None:
    def refuse(_j: bytes) -> Any:
        raise ValueError("no face")

    events = _run(refuse, lambda _o: None)
    assert [e[0] for e in events] == ["prepared", "posted"]
    assert isinstance(events[0][1], ValueError)


def test_a_failing_prepare_does_not_hold_the_result_back() -> None:
    def broken(_o: Any) -> None:
        raise RuntimeError("font missing")

    result = SimpleNamespace(report=SimpleNamespace(ok=True), jpeg=b"x")
    events = _run(lambda _j: result, broken)
    assert [e[0] for e in events] == ["prepared", "posted"] and events[1][1] is result
