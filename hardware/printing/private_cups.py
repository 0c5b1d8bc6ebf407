"""A private ``cupsd`` with a virtual photo printer: the tests' and the demo's printer.

No systemd and no system spooler are touched: the daemon runs in the
foreground from a folder of its own, listens on a private socket and a
loopback port, and its ``ServerBin`` adds the ``kiosktest`` backend
(:mod:`hardware.printing.kiosktest_backend`) beside links to the system's
backends and filters. The printer's output folder receives one file per job
and a ``fault`` file that makes the next job fail (see the backend).
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

SYSTEM_SERVERBIN = Path("/usr/lib/cups")
CUPSD = shutil.which("cupsd", path="/usr/sbin:/usr/local/sbin:" + os.environ.get("PATH", ""))
BACKEND = Path(__file__).with_name("kiosktest_backend.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivateCups:
    """``with PrivateCups(folder) as cups: cups.add_printer("kiosk")``."""

    def __init__(self, root: str | Path, port: int = 0) -> None:
        self.root = Path(root)
        self.port = port or _free_port()
        self.socket = self.root / "run" / "cups.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> str:
        """What ``PrintService(server=...)`` and ``CUPS_SERVER`` take."""
        return str(self.socket)

    def output_dir(self, printer: str) -> Path:
        return self.root / "printers" / printer

    def _layout(self) -> None:
        for sub in ("conf", "spool/tmp", "cache", "state", "log", "run", "serverbin/backend",
                    "printers"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        sb = self.root / "serverbin"
        for entry in SYSTEM_SERVERBIN.iterdir():
            link = sb / entry.name
            if entry.name != "backend" and not link.exists():
                link.symlink_to(entry)
        backends = sb / "backend"
        for entry in (SYSTEM_SERVERBIN / "backend").iterdir():
            if not (backends / entry.name).exists():
                (backends / entry.name).symlink_to(entry)
        test_backend = backends / "kiosktest"
        text = f"#!{sys.executable if os.path.exists(sys.executable) else '/usr/bin/python3'}\n"
        text += BACKEND.read_text(encoding="utf-8").split("\n", 1)[1]
        test_backend.write_text(text, encoding="utf-8")
        # 0700: cupsd runs it as root (the output folder needs no permissions for lp).
        test_backend.chmod(stat.S_IRWXU)
        r = self.root
        (r / "conf" / "cupsd.conf").write_text(
            f"""LogLevel warn
Listen 127.0.0.1:{self.port}
Listen {self.socket}
Browsing No
DefaultAuthType None
WebInterface No
JobRetryInterval 5
MaxJobs 500
PreserveJobHistory Yes
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
    Allow all
  </Limit>
</Policy>
""",
            encoding="utf-8",
        )
        (r / "conf" / "cups-files.conf").write_text(
            f"""FileDevice Yes
ServerRoot {r / 'conf'}
ServerBin {r / 'serverbin'}
RequestRoot {r / 'spool'}
TempDir {r / 'spool' / 'tmp'}
CacheDir {r / 'cache'}
StateDir {r / 'state'}
AccessLog {r / 'log' / 'access_log'}
ErrorLog {r / 'log' / 'error_log'}
PageLog {r / 'log' / 'page_log'}
Sandboxing Relaxed
""",
            encoding="utf-8",
        )

    def start(self, timeout: float = 15.0) -> PrivateCups:
        if not CUPSD:
            raise FileNotFoundError("cupsd not installed (apt install cups)")
        self._layout()
        conf = self.root / "conf"
        self.proc = subprocess.Popen(
            [CUPSD, "-f", "-c", str(conf / "cupsd.conf"), "-s", str(conf / "cups-files.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"cupsd exited with {self.proc.returncode}: {err.strip()}")
            if self.socket.exists():
                try:
                    import cups

                    cups.Connection(host=self.server).getPrinters()
                    return self
                except (RuntimeError, OSError, cups.IPPError):
                    pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"cupsd did not answer within {timeout} s")

    def add_printer(self, name: str = "kiosk-photo", error_policy: str = "abort-job") -> Path:
        """A raw queue on the ``kiosktest`` backend; returns its output folder."""
        import cups

        out = self.output_dir(name)
        out.mkdir(parents=True, exist_ok=True)
        conn = cups.Connection(host=self.server)
        conn.addPrinter(name, device=f"kiosktest:{out}", info="Kiosk virtual photo printer")
        conn.setPrinterErrorPolicy(name, error_policy)
        conn.enablePrinter(name)
        conn.acceptJobs(name)
        return out

    def set_fault(self, printer: str, fault: str) -> None:
        """``paper``, ``ribbon``, ``jam``, ``offline``, ``abort``, ``stall``, ``low`` or ``""``."""
        (self.output_dir(printer) / "fault").write_text(fault, encoding="ascii")

    def load_paper(self, printer: str, sheets: int) -> None:
        """Make the virtual printer count its sheets down from ``sheets`` (kiosktest)."""
        (self.output_dir(printer) / "paper_left").write_text(str(sheets), encoding="ascii")

    def jobs_printed(self, printer: str) -> list[Path]:
        return sorted(self.output_dir(printer).glob("job-*.bin"))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> PrivateCups:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m hardware.printing.private_cups DIR [PRINTER]``: run until Ctrl-C."""
    args = argv if argv is not None else sys.argv[1:]
    if not args:
        print("usage: python -m hardware.printing.private_cups DIR [PRINTER]", file=sys.stderr)
        return 2
    printer = args[1] if len(args) > 1 else "kiosk-photo"
    with PrivateCups(args[0]) as cups_:
        out = cups_.add_printer(printer)
        print(f"CUPS_SERVER={cups_.server} printer={printer} output={out}", flush=True)
        try:
            assert cups_.proc is not None
            cups_.proc.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
