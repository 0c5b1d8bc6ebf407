"""An S3-compatible endpoint over real HTTP on loopback: moto's server mode.

``scripts/test.d/s3.sh`` starts one for the whole run and exports
``KIOSK_TEST_S3_URL``; without it ``MotoServer`` starts a private one (a
separate process, real sockets) -- also used to take the store down on purpose.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

MOTO = Path(sys.executable).with_name("moto_server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """``moto_server`` in its own process on a loopback port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> MotoServer:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
        self.proc = subprocess.Popen(
            [str(MOTO), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                return self
            except httpx.HTTPError:
                if self.proc.poll() is not None:
                    raise RuntimeError("moto_server exited") from None
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def s3_conf(url: str, bucket: str | None = None) -> dict:
    """``[center_server.photo_store]`` overrides for a fresh bucket on ``url``."""
    return {
        "backend": "s3",
        "s3": {
            "endpoint_url": url,
            "bucket": bucket or f"kiosk-{uuid.uuid4().hex[:12]}",
            "region": "us-east-1",
            "access_key_id": "test",
            "secret_access_key": "test",
            "prefix": "photos/",
            "connect_timeout_s": 1.0,
            "read_timeout_s": 5.0,
            "max_attempts": 2,  # as the default: moto answers 500 now and then to
            # concurrent PUTs of one key (its in-memory race); botocore retries it
            "create_bucket": True,
        },
    }
