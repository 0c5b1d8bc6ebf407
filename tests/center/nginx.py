"""Real nginx (Debian's nginx-light) in front of center hosts, on loopback.

Started by the test as an unprivileged process (``nobody`` when the tests run
as root) with its own prefix, configuration, logs and temp directories in a
fresh directory -- never the system service. The server block is the shipped
``deploy/nginx/kiosk-center-proxy.conf``, included verbatim; only the upstream
(loopback ports instead of LAN addresses) and the listen address (plain HTTP
on loopback instead of TLS on 443) are the test's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.center.s3 import free_port

SNIPPET = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "kiosk-center-proxy.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")


CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    log_format upstream '$upstream_addr $status';
    access_log {dir}/access.log upstream;
    upstream kiosk_center {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        include {dir}/kiosk-center-proxy.conf;
    }}
}}
"""


class Nginx:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx not installed (apt: nginx-light)")
        self.binary = binary
        self.backends = backends
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="kiosk-nginx-"))
        (self.dir / "tmp").mkdir()
        shutil.copyfile(SNIPPET, self.dir / "kiosk-center-proxy.conf")
        servers = "\n".join(
            f"        server {host}:{port} max_fails=2 fail_timeout=10s;" for host, port in backends
        )
        (self.dir / "nginx.conf").write_text(
            CONF.format(dir=self.dir, port=self.port, servers=servers), encoding="utf-8"
        )
        self.user: str | None = None
        if os.geteuid() == 0:  # never nginx as root: its own unprivileged user
            self.user = "nobody"
            for path in [self.dir, *self.dir.rglob("*")]:
                shutil.chown(path, "nobody", "nogroup")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _argv(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                "-e", str(self.dir / "error.log"), *extra]

    def start(self, timeout: float = 15.0) -> Nginx:
        check = subprocess.run(self._argv("-t"), capture_output=True, text=True, user=self.user,
                               group="nogroup" if self.user else None)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the configuration: {check.stderr}")
        self.proc = subprocess.Popen(self._argv(), user=self.user,
                                     group="nogroup" if self.user else None,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.errors()}")
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not start: {self.errors()}")

    def errors(self) -> str:
        log = self.dir / "error.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    @property
    def served(self) -> list[int]:
        """Requests nginx passed to each backend (from its access log's $upstream_addr)."""
        log = self.dir / "access.log"
        lines = log.read_text().splitlines() if log.exists() else []
        # "$upstream_addr $status"; after a fail-over the address list is "a:1, b:2":
        # the last one answered
        counts = Counter(line.rsplit(" ", 1)[0].split(", ")[-1] for line in lines)
        return [counts[f"{host}:{port}"] for host, port in self.backends]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)
