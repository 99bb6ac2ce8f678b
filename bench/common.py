"""What the benchmarks share: peak memory, and the one machine-readable line per figure.

Each script prints what it measured for people, and for `duban bench` one line per figure:

    BENCH {"figure": "sweep_nothing_due", "value": 0.013, "unit": "s", "peak_mb": 63.1, ...}

`figure` is a stable key (duban/cli/bench.py holds the labels and goals), `value` a number in
`unit`, `peak_mb` the peak resident memory of the process that did the measured work (VmHWM,
read from /proc: not `ru_maxrss`, which Linux carries over exec from the parent),
`yardstick_ms` the machine's speed when it was measured (`yardstick_ms`), and anything else is
context (`backend`, `cases`, `note`).
"""

from __future__ import annotations

import json
import resource
import time
from functools import cache
from pathlib import Path
from typing import Any

PREFIX = "BENCH "


def memory_mb(field: str = "VmHWM", pid: int | str = "self") -> float:
    """Resident memory of a process in MB: at its peak (VmHWM) or now (VmRSS)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid == "self":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return 0.0


def backend_of(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0]


@cache
def yardstick_ms() -> float:
    """The machine's speed for pure Python, beside every figure: the milliseconds of one fixed
    workload (strings, a dict, a sum), best of 5, measured once a process. This virtual
    machine's speed moved by half between two days with no program changed (docs/bench.md,
    seventeenth session), so a figure is read against the yardstick of its own run, not against
    another day's figure alone."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(10):  # small tables: the yardstick must not raise the peak memory it sits beside
            table = {str(i): i * 2 for i in range(5_000)}
            sum(len(key) + value for key, value in table.items())
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def emit(figure: str, value: float, unit: str, *, peak_mb: float | None = None, **context: Any) -> None:
    """Print one figure as a BENCH line (flushed: the collector reads the pipe as it comes)."""
    record = {"figure": figure, "value": value, "unit": unit, "peak_mb": peak_mb,
              "yardstick_ms": yardstick_ms(), **context}
    print(PREFIX + json.dumps(record, ensure_ascii=False, default=str), flush=True)

