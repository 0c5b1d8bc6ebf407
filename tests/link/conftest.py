"""The real center on loopback (EmbeddedCenter over uvicorn), photos, a fast outbox."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk.link.client import CenterClient
from kiosk.link.embedded import EmbeddedCenter
from kiosk.link.outbox import Outbox, OutboxPolicy
from tests.conftest import center_conf

ROOT = Path(__file__).resolve().parents[2]
CODES = [f"DEMO2026GD00000{i}" for i in range(1, 9)]  # config/demo/roster.csv
BATCH = {"kind": "batch", "id": "GD2026-01"}
LAST4 = {"DEMO2026GD000001": "1234", "DEMO2026GD000002": "5678", "DEMO2026GD000003": "002X",
         "DEMO2026GD000004": "9012", "DEMO2026GD000005": "3456", "DEMO2026GD000006": "7890",
         "DEMO2026GD000007": "2468", "DEMO2026GD000008": "1357"}
FAST = OutboxPolicy(backoff_base_s=0.05, backoff_max_s=0.4, jitter=0.0, lease_s=30.0)


def make_jpeg(seed: int, size: tuple[int, int] = (480, 640), quality: int = 40) -> bytes:
    """A 480×640 RGB JPEG of about 32 KB: inside the 20–40 KiB window the center enforces."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 255, (max(2, h // 10), max(2, w // 10), 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR)).astype(np.int16)
    img = np.clip(img + rng.integers(0, 20, img.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture
def center(tmp_path: Path) -> Iterator[EmbeddedCenter]:
    """The real center, in-process on a loopback port, its own SQLite and files."""
    c = EmbeddedCenter(tmp_path / "center-host", center_conf(),
                       overrides={"upload": {"check_workers": 0}})
    c.start()
    yield c
    c.stop()


@pytest.fixture
def client(center: EmbeddedCenter) -> Iterator[CenterClient]:
    """A kiosk's client that identified every demo student (it holds their grants)."""
    with CenterClient(center.base_url, center.token, timeout=(2.0, 10.0)) as cl:
        for code in CODES:
            cl.identify(code, LAST4[code], "EK43", BATCH)
        yield cl


@pytest.fixture
def ticket(client: CenterClient) -> Callable[[str], str | None]:
    """``ticket(code)``: the upload ticket identify gave for a demo student (None for
    unknown codes) -- what the booth stores with a submitted photo (center/grants.py)."""
    return client.grants.upload_ticket


@pytest.fixture
def outbox(_state_dir: Path) -> Iterator[Outbox]:
    box = Outbox(_state_dir / "outbox" / "outbox.db", FAST)
    yield box
    box.close()


def kiosk_config(path: Path, url: str, token_file: Path, **outbox: float) -> Path:
    """A booth config file for subprocesses (`kiosk ...`) pointing at ``url``."""
    lines = ["[center]", f'url = "{url}"', f'token_file = "{token_file}"',
             "connect_timeout_s = 2.0", "read_timeout_s = 20.0", "upload_timeout_s = 20.0",
             "[outbox]"]
    opts = {"backoff_base_s": 0.05, "backoff_max_s": 0.4, "jitter": 0.0, **outbox}
    lines += [f"{k} = {float(v)}" for k, v in opts.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def token_file(path: Path, token: str) -> Path:
    path.write_text(token, encoding="ascii")
    path.chmod(0o600)
    return path


def kiosk_cmd(args: list[str], config: Path, state: Path, **kw: object) -> subprocess.Popen:
    env = dict(os.environ, KIOSK_CONFIG=str(config), KIOSK_STATE_DIR=str(state))
    env.pop("NOTIFY_SOCKET", None)
    env.update(kw.pop("env", {}) or {})  # type: ignore[arg-type]
    return subprocess.Popen([sys.executable, "-m", "kiosk", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
