"""One run of every UI scenario and the gallery, shared by the UI test modules.

The run happens in a subprocess (Kivy allows one App per process) on a real X
display (Xvfb, 1280×800, the window fills it): while it runs, a thread here
answers the gallery's grab requests by reading the display from outside the
app (``mss``, XGetImage), so a test can compare what the X server shows with
the app's own off-screen screenshot. Without Xvfb the run uses SDL offscreen.
Another thread reads each screenshot by OCR as soon as it is written
(``ocrcheck.READ``), so the reading overlaps the drawing instead of following it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _free_display() -> int:
    for n in range(150, 250):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


def _grabber(out: Path, display: str, stop: threading.Event) -> None:
    import mss
    from PIL import Image

    with mss.MSS(display=display) as grab:
        while not stop.is_set():
            for request in out.glob("*.grab"):
                shot = grab.grab(grab.monitors[1])
                img = Image.frombytes("RGB", shot.size, shot.rgb)
                tmp = request.with_suffix(".tmp.png")
                img.save(tmp)
                request.unlink()
                tmp.rename(request.with_suffix(".png"))
            time.sleep(0.05)


def _reader(out: Path, stop: threading.Event) -> None:
    """OCR each screenshot as soon as the run has written it (its ``.json`` is there),
    while the app draws the next ones: the two overlap instead of adding up. The
    lines land in ``ocrcheck.READ``, where the tests look first."""
    import ocrcheck as oc

    try:  # the app's timing comes first: this thread and the OCR threads it starts yield
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except OSError:
        pass
    while True:
        last = stop.is_set()  # after the run: one more pass reads what is left
        for meta in sorted(out.glob("*.json")):
            png = meta.with_suffix(".png")
            if str(png) not in oc.READ and png.exists():
                oc.read_shot(png)
        if last:
            return
        stop.wait(0.2)


@pytest.fixture(scope="session")
def ui_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    reuse = os.environ.get("KIOSK_UI_REUSE")  # by hand: check an earlier run's folder again
    if reuse:
        run = json.loads((Path(reuse) / "results.json").read_text())
        return {**run, "out": reuse,
                "xvfb": (Path(reuse) / "x_capture_countdown_3.png").exists()}
    out = tmp_path_factory.mktemp("ui")
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["KIOSK_STATE_DIR"] = str(out / "state")
    xvfb = stop = thread = None
    if shutil.which("Xvfb"):
        n = _free_display()
        xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten",
                                 "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        env["DISPLAY"] = f":{n}"
        stop = threading.Event()
        thread = threading.Thread(target=_grabber, args=(out, f":{n}", stop), daemon=True)
        thread.start()
    done = threading.Event()
    reader = threading.Thread(target=_reader, args=(out, done), daemon=True)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, str(HERE / "run_sessions.py"), str(out)],
                              env=env, capture_output=True, text=True, timeout=1200)
    finally:
        done.set()
        if stop is not None:
            stop.set()
            thread.join(5)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    reader.join(600)
    results = out / "results.json"
    assert results.exists(), proc.stderr[-3000:]
    run = json.loads(results.read_text())
    run["out"] = str(out)
    run["xvfb"] = xvfb is not None
    return run


@pytest.fixture(scope="session")
def shots(ui_run: dict) -> dict[str, Path]:
    """Name -> screenshot of every state the run drew (each with its ``.json``)."""
    out = Path(ui_run["out"])
    return {p.stem: p for p in out.glob("*.png") if p.with_suffix(".json").exists()}
