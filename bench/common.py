"""What the benchmarks share: peak memory, and the one machine-readable line per figure.

Each script prints what it measured for people, and for `duban bench` one line per figure:

    BENCH {"figure": "sweep_nothing_due", "value": 0.013, "unit": "s", "peak_mb": 63.1, ...}

`figure` is a stable key (duban/cli/bench.py holds the labels and goals), `value` a number in
`unit`, `peak_mb` the peak resident memory of the process that did the measured work (VmHWM,
read from /proc: not `ru_maxrss`, which Linux carries over exec from the parent), and anything
else is context (`backend`, `cases`, `note`).
"""

from __future__ import annotations

import json
import resource
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


def emit(figure: str, value: float, unit: str, *, peak_mb: float | None = None, **context: Any) -> None:
    """Print one figure as a BENCH line (flushed: the collector reads the pipe as it comes)."""
    record = {"figure": figure, "value": value, "unit": unit, "peak_mb": peak_mb, **context}
    print(PREFIX + json.dumps(record, ensure_ascii=False, default=str), flush=True)

