"""How a worker hands a result to the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Post = Callable[..., None]


def direct(fn: Callable[..., Any], *args: Any) -> None:
    """Call at once, in the worker's thread (tools and tests without a UI loop)."""
    fn(*args)


def kivy_post(fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` on the Kivy main thread at the next frame."""
    from kivy.clock import Clock

    Clock.schedule_once(lambda _dt: fn(*args), 0)
