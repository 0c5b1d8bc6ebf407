"""The pipeline's steps are swappable, and the models are per thread."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from kiosk.photo.check import check_jpeg
from kiosk.photo.encode import Encoded
from kiosk.photo.pipeline import STEPS, Pipeline

from .conftest import jpeg_bytes


def test_a_step_can_be_replaced(girl) -> None:
    seen = []

    def encode_at_75(ctx) -> None:
        buf = io.BytesIO()
        Image.fromarray(ctx.output).save(buf, "JPEG", quality=75, dpi=(300, 300))
        seen.append(ctx.plan)
        ctx.encoded = Encoded(buf.getvalue(), 75, "4:2:0")

    result = Pipeline().replace("encode", encode_at_75).run(jpeg_bytes(girl))
    assert seen and result.quality == 75
    assert result.report.get("jpeg_quality").value == 75  # verified from the file itself
    assert [n for n, _ in STEPS] == [
        "decode",
        "analyse",
        "frame",
        "plan",
        "matte",
        "compose",
        "encode",
        "verify",
    ]


def test_checks_from_several_threads_agree(made) -> None:
    data = made["asian_girl_indoor.jpg"].jpeg
    serial = check_jpeg(data).as_dict()
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: check_jpeg(data).as_dict(), range(6)))
    assert all(r == serial for r in results)
