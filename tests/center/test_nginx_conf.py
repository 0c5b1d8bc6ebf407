"""The shipped nginx site file (deploy/nginx/kiosk-center.conf) is one nginx accepts.

Only ``nginx -t``: the proxy rules it includes run for real in front of two
center hosts in tests/center/test_hosts.py. The certificate, log and listen
lines point into a temporary directory (a test may not bind 443 or read
/etc/ssl); everything else is the file as shipped.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.center.nginx import SNIPPET, nginx_binary

SITE = SNIPPET.with_name("kiosk-center.conf")


@pytest.mark.skipif(nginx_binary() is None, reason="nginx not installed (apt: nginx-light)")
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_shipped_site_file_passes_nginx_t(tmp_path: Path) -> None:
    (tmp_path / "snippets").mkdir()
    shutil.copyfile(SNIPPET, tmp_path / "snippets" / SNIPPET.name)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=photos.example.edu.cn",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )
    site = SITE.read_text(encoding="utf-8")
    for shipped, here in [
        ("/etc/ssl/certs/photos.pem", tmp_path / "cert.pem"),
        ("/etc/ssl/private/photos.key", tmp_path / "key.pem"),
        ("/var/log/nginx/kiosk-center.log", tmp_path / "access.log"),
        ("listen 443 ", "listen 127.0.0.1:18443 "),
        ("listen 80;", "listen 127.0.0.1:18080;"),
    ]:
        assert str(shipped) in site, shipped
        site = site.replace(str(shipped), str(here))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    temp = " ".join(f"{k}_temp_path {tmp_path}/{k};"
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ {temp} include {tmp_path}/site.conf; }}\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [str(nginx_binary()), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
         "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "test is successful" in out.stderr
