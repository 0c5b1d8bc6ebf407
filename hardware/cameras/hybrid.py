"""Webcam (or simulated) preview with the DSLR's still: live view over USB is slow.

The two devices fail independently: a lost DSLR leaves the preview running
(health degraded), a lost webcam leaves stills possible.
"""

from __future__ import annotations

from hardware.cameras.base import Camera, Frame
from hardware.health import Health, State


class HybridCamera(Camera):
    name = "hybrid"

    def __init__(self, preview_camera: Camera, still_camera: Camera) -> None:
        self.preview_camera = preview_camera
        self.still_camera = still_camera

    def preview(self, timeout: float = 1.0) -> Frame:
        return self.preview_camera.preview(timeout)

    def capture(self, timeout: float = 10.0) -> bytes:
        return self.still_camera.capture(timeout)

    def health(self) -> Health:
        p, s = self.preview_camera.health(), self.still_camera.health()
        if p.state == "ok" and s.state == "ok":
            return Health("ok", f"preview: {p.detail}; still: {s.detail}", p.zh, p.en)
        worst = s if s.state != "ok" else p
        both_failed = p.state == "failed" and s.state == "failed"
        state: State = "failed" if both_failed or s.state == "failed" else "degraded"
        return Health(state, f"preview: {p.detail}; still: {s.detail}", worst.zh, worst.en)

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "preview": self.preview_camera.describe(),
            "still": self.still_camera.describe(),
        }

    def close(self) -> None:
        self.preview_camera.close()
        self.still_camera.close()
