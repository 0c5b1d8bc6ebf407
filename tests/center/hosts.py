"""Center hosts as real processes: ``kiosk center serve`` and ``kiosk center worker``.

Each host has its own working directory (``<root>/<name>``: data directory,
secrets directory, ``kiosk.toml``) as on separate machines; they share only
the PostgreSQL database, the S3 endpoint and -- copied once, as an operator
does (docs/capacity.md) -- the first host's secrets directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from center.db import Database
from tests.center.s3 import free_port

KIOSK = Path(sys.executable).with_name("kiosk")


def toml_text(section: str, conf: dict[str, Any]) -> str:
    """A small TOML writer for nested tables of strings, numbers, booleans and lists."""

    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []

    def table(name: str, node: dict[str, Any]) -> None:
        lines.append(f"[{name}]")
        for k, v in node.items():
            if not isinstance(v, dict):
                lines.append(f"{k} = {value(v)}")
        for k, v in node.items():
            if isinstance(v, dict):
                table(f"{name}.{k}", v)

    table(section, conf)
    return "\n".join(lines) + "\n"


class Host:
    """One machine's center process (``serve``) or check worker (``worker``)."""

    def __init__(
        self, root: Path, name: str, db_url: str, conf: dict[str, Any], command: str = "serve",
        sections: dict[str, dict[str, Any]] | None = None, env: dict[str, str] | None = None,
    ) -> None:
        """``conf``: its ``[center_server]`` table; ``sections``: other tables of its
        kiosk.toml (e.g. ``center_worker``); ``env``: added to its environment."""
        self.name = name
        self.sections = sections or {}
        self.env = env or {}
        self.dir = root / name
        self.db_url = db_url
        self.command = command
        self.port = free_port()
        self.conf = {**conf, "secrets_dir": str(self.dir / "secrets")}
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / f"{command}.log"

    @property
    def secrets_dir(self) -> Path:
        return self.dir / "secrets"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def copy_secrets_from(self, other: Host) -> None:
        """What the operator does once per new host (scp -rp of the directory)."""
        shutil.copytree(other.secrets_dir, self.secrets_dir, dirs_exist_ok=True)

    def launch(self, *extra: str) -> subprocess.Popen:
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "kiosk.toml"
        text = toml_text("center_server", self.conf)
        text += "".join(toml_text(name, table) for name, table in self.sections.items())
        config.write_text(text, encoding="utf-8")
        env = {**os.environ, "KIOSK_CONFIG": str(config), "PYTHONUNBUFFERED": "1", **self.env}
        argv = [str(KIOSK), "center", self.command, "--data", str(self.dir / "data"),
                "--db", self.db_url, *extra]
        if self.command == "serve":
            argv += ["--port", str(self.port)]
        self.proc = subprocess.Popen(
            argv, cwd=self.dir, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        return self.proc

    def run_cli(self, *args: str) -> str:
        """A ``kiosk center`` command run on this host (its config, data dir, database)."""
        env = {**os.environ, "KIOSK_CONFIG": str(self.dir / "kiosk.toml")}
        out = subprocess.run(
            [str(KIOSK), "center", *args, "--data", str(self.dir / "data"), "--db", self.db_url],
            cwd=self.dir, env=env, capture_output=True, text=True, timeout=120, check=True,
        )
        return out.stdout

    def start(self, timeout: float = 60.0) -> Host:
        self.launch()
        return self.wait_started(timeout)

    def wait_started(self, timeout: float = 60.0) -> Host:
        """Until ``/healthz`` answers (``serve``), so several hosts can be launched
        first and then waited for together."""
        if self.command != "serve":
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.output()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start: {self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def kill(self) -> None:
        """kill -9: the host is gone mid-whatever (no shutdown code runs)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Side:
    """What tests of one center reach for beside HTTP: ``.db`` (here, the shared PG)."""

    def __init__(self, db_url: str) -> None:
        self.db = Database(db_url, pool_size=2)
