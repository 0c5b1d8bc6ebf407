"""CPU seconds of a process tree from /proc, and the load average (Linux).

psutil is not a dependency; /proc/<pid>/stat has everything a benchmark needs:
utime and stime (fields 14, 15), the parent (field 4) and the scheduling policy
(field 41), which tells the center's background checkers (SCHED_IDLE, see
center/checks.py) from the processes that answer requests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SCHED_IDLE = 5
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class TreeCpu:
    """User + system seconds of a tree, split by scheduling policy."""

    serving: float  # every process not at SCHED_IDLE (API workers, their supervisor)
    idle: float  # SCHED_IDLE processes (background compliance checks)
    processes: int  # processes counted in ``serving``


Snapshot = dict[int, tuple[float, bool]]  # pid -> (CPU seconds, at SCHED_IDLE)


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    return text.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (its threads included)."""
    f = _stat(pid)
    return float("nan") if f is None else (int(f[11]) + int(f[12])) / _TICK


def snapshot(root: int) -> Snapshot:
    """CPU and policy of ``root`` and every descendant alive now."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        f = _stat(int(entry.name))
        if f is None:
            continue
        stats[int(entry.name)] = f
        children.setdefault(int(f[1]), []).append(int(entry.name))
    out: Snapshot = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        f = stats.get(pid)
        if f is not None:
            idle = len(f) > 38 and int(f[38]) == SCHED_IDLE
            out[pid] = ((int(f[11]) + int(f[12])) / _TICK, idle)
    return out


def postgres_backends(database: str) -> Snapshot:
    """CPU of the PostgreSQL server processes working for ``database`` now.

    PostgreSQL titles each backend ``postgres: USER DATABASE HOST(PORT) STATE``
    (its /proc cmdline); the center's own command line names the database too,
    so only titles that start with ``postgres: `` count.
    """
    out: Snapshot = {}
    needle = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"postgres: ") and needle in cmdline:
            f = _stat(int(entry.name))
            if f is not None:
                out[int(entry.name)] = ((int(f[11]) + int(f[12])) / _TICK, False)
    return out


def spent(before: Snapshot, after: Snapshot) -> TreeCpu:
    """CPU used between two snapshots, each process classed by its policy at the end.

    A checker starts at normal priority and lowers itself once it runs, so
    its start-up counts as checking, not serving. A process that ended in
    between is lost (none should during a phase).
    """
    serving = idle = 0.0
    count = 0
    for pid, (cpu, is_idle) in after.items():
        delta = cpu - before.get(pid, (0.0, False))[0]
        if is_idle:
            idle += delta
        else:
            serving += delta
            count += 1
    return TreeCpu(serving, idle, count)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"
