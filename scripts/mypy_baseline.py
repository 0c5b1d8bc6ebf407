#!/usr/bin/env python3
"""No new mypy errors in the code not yet typed strictly (issue 12, item 7).

Plain mypy (the configuration of pyproject.toml, so the strict packages stay
strict) runs over kiosk, center and hardware; each error line, without its
line number, is compared with ``scripts/mypy-baseline.txt``. Without line
numbers an edit above an old error does not make it "new", and counting each
line keeps two equal errors in one file apart. An error that is not in the
baseline (or is there more often than the baseline says) fails the run; errors
fixed are reported so the baseline can shrink. A new annotation can make mypy
word an old error differently (``ndarray[Any, Any]`` becomes
``ndarray[Any, dtype[Any]]``); that shows as new: see that the total did not
grow, then update the baseline and commit its diff with the change.


    scripts/mypy_baseline.py            check (exit 1 on a new error)
    scripts/mypy_baseline.py --update   write the current errors as the baseline

Exit codes: 0 no new error, 1 new errors, 2 mypy itself failed (crash, bad config).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scripts" / "mypy-baseline.txt"
TARGETS = ("kiosk", "center", "hardware")
# "path/to/file.py:123: error: message  [code]" (mypy's default output)
ERROR = re.compile(r"^(?P<path>[^:\n]+\.py):\d+(?::\d+)?: error: (?P<message>.*)$")


def normalise(output: str) -> Counter[str]:
    """Error lines without their line numbers, counted."""
    found: Counter[str] = Counter()
    for line in output.splitlines():
        m = ERROR.match(line.strip())
        if m:
            found[f"{m['path']}: {m['message'].strip()}"] += 1
    return found


def run_mypy() -> tuple[int, str]:
    mypy = ROOT / ".venv" / "bin" / "mypy"
    cmd = [str(mypy) if mypy.exists() else "mypy", *TARGETS]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def read_baseline() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    lines = BASELINE.read_text(encoding="utf-8").splitlines()
    return Counter(line for line in lines if line.strip() and not line.startswith("#"))


def write_baseline(errors: Counter[str]) -> None:
    head = (
        "# mypy errors accepted for now (scripts/mypy_baseline.py --update writes it).\n"
        "# One line per error, line numbers left out; fix errors and let the list shrink.\n"
    )
    body = "".join(f"{line}\n" for line in sorted(errors.elements()))
    BASELINE.write_text(head + body, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update", action="store_true", help="write the current errors as baseline")
    args = ap.parse_args(argv)
    rc, output = run_mypy()
    errors = normalise(output)
    if rc not in (0, 1) or (rc == 1 and not errors):
        print(output, file=sys.stderr)
        print("mypy did not run to the end (see above)", file=sys.stderr)
        return 2
    if args.update:
        write_baseline(errors)
        print(f"mypy baseline: {sum(errors.values())} errors written to {BASELINE.name}")
        return 0
    baseline = read_baseline()
    new = errors - baseline
    fixed = baseline - errors
    total, allowed = sum(errors.values()), sum(baseline.values())
    if fixed:
        print(f"mypy baseline: {sum(fixed.values())} old errors are gone; "
              "run scripts/mypy_baseline.py --update to lower the baseline")
    if new:
        print(f"mypy: {sum(new.values())} new errors (baseline {allowed}, now {total}):")
        for line in sorted(new.elements()):
            print(f"  {line}")
        return 1
    print(f"mypy baseline: {total} errors, none new (baseline {allowed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
