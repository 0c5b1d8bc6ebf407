"""The small interface every camera backend offers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from numpy.typing import NDArray

from hardware.cameras.geometry import PictureGeometry
from hardware.health import Health, healthy

# An RGB picture, H×W×3 uint8 (OpenCV's functions are typed with any dtype).
Frame = NDArray[Any]


class Camera(ABC):
    """A camera the booth can preview from and take a still with.

    ``preview`` returns an RGB frame (numpy, H×W×3, uint8) for the screen and the
    guidance; ``capture`` returns the still as JPEG bytes exactly as the sensor
    delivered it: never mirrored, rotated or retouched.
    """

    name = "camera"

    @abstractmethod
    def preview(self, timeout: float = 1.0) -> Frame: ...

    @abstractmethod
    def capture(self, timeout: float = 10.0) -> bytes: ...

    def health(self) -> Health:
        return healthy(self.name)

    def geometry(self) -> PictureGeometry | None:
        """Where the still lies in the latest preview frame; ``None``: the preview is
        the whole still at some unknown size (the caller assumes its own)."""
        return None

    def describe(self) -> dict[str, object]:
        """What ``kiosk camera list`` prints about an open camera."""
        return {"backend": self.name}

    def close(self) -> None:  # noqa: B027 - optional for backends with nothing to free
        pass

    def __enter__(self) -> Camera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
