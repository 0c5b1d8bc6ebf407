"""The support bundle is useful and holds no planted collection code, name, e-mail or token."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
from PIL import Image

from kiosk.cli import main

CODE = "GD7Q2K9X4M1P8R"
NAME = "欧阳娜娜"
EMAIL = "nana.ouyang@example.edu.cn"
TOKEN = "dvc_5tQ9wLm2Zr8KpX4nB7"
ID_NUMBER = "44010619900307123X"

# A stand-in for journald (there is none in the test container): prints what a
# careless log line could hold.
FAKE_JOURNALCTL = f"""#!/bin/sh
echo "2026-06-01T09:00:00+0800 kiosk-ui[812]: identify code={CODE} name {NAME} ok"
echo "2026-06-01T09:00:01+0800 kiosk-worker[813]: POST /api/v1/photos Authorization: Bearer {TOKEN}"
echo "2026-06-01T09:00:02+0800 kiosk-ui[812]: e-mail to {EMAIL} for id {ID_NUMBER}, order 221212192359897028"
echo "2026-06-01T09:00:03+0800 kiosk-ui[812]: scanned {CODE} (状态 待上传)"
"""


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 64), (100, 197, 255)).save(buf, "JPEG")
    return buf.getvalue()


def test_bundle_is_redacted_and_useful(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture, _state_dir: Path):
    from kiosk.link.outbox import Outbox
    from kiosk.settings import load_settings

    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "journalctl").write_text(FAKE_JOURNALCTL)
    (bindir / "journalctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")

    token_file = tmp_path / "device-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f"# booth at the library; contact {NAME} <{EMAIL}>\n"
        f"# test code {CODE}, token pasted by mistake: {TOKEN}\n"
        f'[center]\ntoken_file = "{token_file}"\n\n[doctor]\ntimeout = 5.0\n',
        encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    box = Outbox.open_default(None, load_settings())
    box.enqueue(CODE, _jpeg(), "idem-key-0001")
    box.close()

    out = tmp_path / "bundle.tar.gz"
    assert main(["support", "bundle", "-o", str(out), "--no-doctor"]) == 0
    assert "personal data redacted" in capsys.readouterr().out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    with tarfile.open(out) as tar:
        files = {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode() for m in tar
                 if m.isfile()}
    everything = "\n".join(files.values())
    for planted in (CODE, NAME, EMAIL, TOKEN, ID_NUMBER, "5tQ9wLm2Zr8KpX4nB7"):
        assert planted not in everything, planted
    assert "device-token" not in files  # the token file itself is never copied

    # Still useful: the logs are there, codes kept as references, names masked.
    journal = files["journal/kiosk-ui.service.log"]
    assert journal.count("c:") >= 2 and "kiosk-ui[812]" in journal
    assert "欧**" in journal and "待上传" in journal and "221212192359897028" in journal
    assert "<email>" in journal and "<id-number>" in journal
    assert "<token>" in files["journal/kiosk-worker.service.log"]
    assert "[center]" in files["config/kiosk.toml"] and "<token>" in files["config/kiosk.toml"]
    assert '"depth": 1' in files["outbox.json"]
    assert "python:" in files["versions.txt"]
    assert {"devices.txt", "system.txt", "config/effective.toml"} <= set(files)


def test_bundle_includes_the_doctor(tmp_path: Path, capsys: pytest.CaptureFixture):
    out = tmp_path / "b.tar.gz"
    assert main(["support", "bundle", "-o", str(out)]) == 0
    with tarfile.open(out) as tar:
        doctor = next(tar.extractfile(m).read().decode() for m in tar
                      if m.name.endswith("/doctor.json"))
    assert '"name": "disk"' in doctor and '"name": "camera"' in doctor
