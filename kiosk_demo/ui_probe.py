"""``kiosk bench ui --probe``: where the UI thread spends a stall.

A sampler thread records the UI thread's Python stack every few milliseconds
and every thread's CPU clock; each gap between two UI frames longer than the
threshold is then reported with the screen it happened on, the stacks seen
during it (most frequent first) and the CPU each thread used meanwhile. A stack
that sits in a GL call (``blit_buffer``, ``flip``) while the ``llvmpipe-*``
threads burn CPU means the UI waited for the software renderer to finish
earlier frames; a stack in kiosk code means the UI thread did the work itself.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
from typing import Any

PERIOD = 0.004  # seconds between two stack samples
DEPTH = 6  # frames of each stack shown, innermost first
IMPORTING = "(importing)"  # stands for the importlib frames of an import in progress


def _thread_cpu() -> dict[str, float]:
    """CPU seconds per thread name (all of the process's threads, native ones too)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat") as fh:
                s = fh.read()
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        name = name.rstrip("0123456789").rstrip("-_/:") or name  # llvmpipe-0, -1 → llvmpipe
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    try:  # the process, threads that ended meanwhile included
        with open("/proc/self/stat") as fh:
            s = fh.read()
        fields = s[s.rindex(")") + 2:].split()
        out["PROCESS"] = (int(fields[11]) + int(fields[12])) / tick
    except (OSError, ValueError):
        pass
    try:  # the whole machine (other processes included), to tell waiting from starving
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
        out["ALL-CPUS"] = (sum(f[:3]) + sum(f[5:8])) / tick
    except (OSError, ValueError):
        pass
    return out


class StallProbe:
    def __init__(self, threshold: float = 0.1) -> None:
        self.threshold = threshold
        self.samples: collections.deque[tuple[float, tuple[str, ...]]] = collections.deque(
            maxlen=100_000)
        self.cpu: collections.deque[tuple[float, dict[str, float]]] = collections.deque(
            maxlen=20_000)
        self.stalls: list[tuple[float, float, str]] = []
        self._last: float | None = None
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="stall-probe", daemon=True)

    def start(self) -> StallProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)

    def frame(self, screen: str, tracking: bool) -> None:
        """Called once per UI frame (from the app's frame meter)."""
        now = time.perf_counter()
        if tracking and self._last is not None and now - self._last > self.threshold:
            self.stalls.append((self._last, now, screen))
        self._last = now

    def _sample(self) -> None:
        n = 0
        while not self._stop.is_set():
            f: Any = sys._current_frames().get(self._main)
            stack = []
            while f is not None and len(stack) < DEPTH:
                c = f.f_code
                if c.co_filename.startswith("<frozen importlib"):
                    # An import in progress: one marker, then the code that imports.
                    if not stack or stack[-1] != IMPORTING:
                        stack.append(IMPORTING)
                else:
                    stack.append(f"{os.path.basename(c.co_filename)}:{f.f_lineno}:{c.co_name}")
                f = f.f_back
            now = time.perf_counter()
            self.samples.append((now, tuple(stack)))
            n += 1
            if n % 5 == 0:
                self.cpu.append((now, _thread_cpu()))
            time.sleep(PERIOD)

    def _cpu_between(self, a: float, b: float) -> dict[str, float]:
        before = after = None
        for t, d in self.cpu:
            if t <= a:
                before = d
            elif t >= b:
                after = d
                break
        if before is None or after is None:
            return {}
        return {k: (v - before.get(k, 0.0)) * 1000 for k, v in after.items()
                if v - before.get(k, 0.0) > 0.002}

    def report(self, limit: int = 12) -> str:
        lines = [f"stalls over {self.threshold * 1000:.0f} ms: {len(self.stalls)}"]
        worst = sorted(self.stalls, key=lambda s: s[0] - s[1])[:limit]
        for a, b, screen in worst:
            cpu = self._cpu_between(a, b)
            top = ", ".join(f"{k}={v:.0f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])
                            [:7])
            lines.append(f"- {1000 * (b - a):.0f} ms on {screen}; cpu ms: {top}")
            counts = collections.Counter(s for t, s in self.samples if a <= t <= b)
            for stack, k in counts.most_common(3):
                lines.append(f"    {k:3d}x {' < '.join(stack)}")
        return "\n".join(lines)
