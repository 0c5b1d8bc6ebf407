"""Where the still's picture lies in a preview frame.

A preview is rarely the still at another size: the simulated camera puts the
picture on grey letterbox bars, a Pi camera's 16:9 preview is a band of the
4:3 still, a DSLR's live view is a fraction of its pixels. Guidance must judge
the edges of the picture (not of the frame) and know how many still pixels a
preview pixel stands for, so each camera says it here instead of the booth
assuming a scale.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PictureGeometry:
    """The still's full picture as a box in preview pixels.

    ``box`` may reach beyond the preview frame (the still shows more than the
    preview) or stop inside it (bars around the picture).
    """

    preview_size: tuple[int, int]  # (w, h) of the preview frame
    still_size: tuple[int, int]  # (w, h) of the still
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) of the still, preview px

    @property
    def scale(self) -> float:
        """Still pixels per preview pixel."""
        return self.still_size[0] / max(1e-9, self.box[2] - self.box[0])

    def resized(self, width: int, height: int) -> PictureGeometry:
        """The same geometry for the preview resized to ``width`` x ``height``."""
        kx, ky = width / self.preview_size[0], height / self.preview_size[1]
        x0, y0, x1, y1 = self.box
        return PictureGeometry(
            (width, height), self.still_size, (x0 * kx, y0 * ky, x1 * kx, y1 * ky)
        )

    @classmethod
    def whole(cls, width: int, height: int, scale: float = 1.0) -> PictureGeometry:
        """A preview that is the whole still at 1/``scale`` of its size."""
        return cls(
            (width, height), (round(width * scale), round(height * scale)),
            (0.0, 0.0, float(width), float(height)),
        )  # fmt: skip

    @classmethod
    def fitted(cls, still: tuple[int, int], preview: tuple[int, int]) -> PictureGeometry:
        """The still letterboxed (fitted whole, centred) into the preview frame."""
        (sw, sh), (pw, ph) = still, preview
        k = min(pw / sw, ph / sh)
        nw, nh = max(1, int(sw * k)), max(1, int(sh * k))
        x0, y0 = (pw - nw) // 2, (ph - nh) // 2
        return cls(preview, still, (float(x0), float(y0), float(x0 + nw), float(y0 + nh)))

    @classmethod
    def cropped(cls, still: tuple[int, int], preview: tuple[int, int]) -> PictureGeometry:
        """The preview is the largest centred band of the still with the preview's aspect
        (what libcamera's default ScalerCrop gives a 16:9 stream of a 4:3 sensor)."""
        (sw, sh), (pw, ph) = still, preview
        k = max(pw / sw, ph / sh)  # preview px per still px
        w, h = sw * k, sh * k
        x0, y0 = (pw - w) / 2, (ph - h) / 2
        return cls(preview, still, (x0, y0, x0 + w, y0 + h))
