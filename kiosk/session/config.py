"""The session's settings, read once from ``config/defaults/{session,operator}.toml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.session.model import BoothContext


@dataclass(frozen=True)
class SessionConfig:
    idle: dict[str, float] = field(default_factory=lambda: {"default": 60.0})
    retakes: int = 3
    max_copies: int = 3
    wrong_entries: int = 5
    pin_hash: str = ""
    pin_max_attempts: int = 5
    pin_lockout: float = 120.0
    operator_idle: float = 120.0
    language: str = "zh"
    context: BoothContext | None = None

    def idle_for(self, state: str) -> float | None:
        if state in ("welcome", "out_of_service"):
            return None
        if state in ("operator", "operator_pin"):
            return self.operator_idle
        return float(self.idle.get(state, self.idle.get("default", 60.0)))

    @classmethod
    def from_settings(cls, settings: Any) -> SessionConfig:
        s = settings.section("session")
        op = settings.section("operator")
        booth = s.get("booth", {})
        ctx = None
        if booth.get("context_kind") in ("batch", "region") and booth.get("context_id"):
            ctx = BoothContext(booth["context_kind"], booth["context_id"],
                          booth.get("context_name", ""), bool(booth.get("feature_required")))
        limits = s.get("limits", {})
        return cls(
            idle={k: float(v) for k, v in s.get("idle", {}).items()},
            retakes=int(limits.get("retakes", 3)),
            max_copies=int(limits.get("max_copies", 3)),
            wrong_entries=int(limits.get("wrong_entries", 5)),
            pin_hash=op.get("pin_hash", ""),
            pin_max_attempts=int(op.get("max_attempts", 5)),
            pin_lockout=float(op.get("lockout_seconds", 120.0)),
            operator_idle=float(op.get("idle", 120.0)),
            language=settings.get("ui.language", "zh"),
            context=ctx,
        )
