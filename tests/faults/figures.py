"""Figures the fault tests gather, printed at the end of the session (tests/conftest.py).

Tests add to them as they run; the summary shows whatever was gathered, so a partial run
(`scripts/test tests/faults -k fuzz`) prints its own part only. Under pytest-xdist each worker
gathers its own and hands them to the controller when it finishes (`export`, `merge`).
"""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()
KILLS: Counter[str] = Counter()  # by kind: web, sweep, deliver, import
NOTES: list[str] = []


def add(name: str, amount: int = 1) -> None:
    FIGURES[name] += amount


def note(text: str) -> None:
    NOTES.append(text)


def export() -> dict[str, object]:
    """This process's figures, as plain data a worker can send (execnet carries dicts and lists)."""
    return {"figures": dict(FIGURES), "kills": dict(KILLS), "notes": list(NOTES)}


def merge(exported: dict[str, object] | None) -> None:
    """Add a worker's `export()` to this process's figures."""
    if not exported:
        return
    FIGURES.update(exported["figures"])  # type: ignore[arg-type]
    KILLS.update(exported["kills"])  # type: ignore[arg-type]
    NOTES.extend(exported["notes"])  # type: ignore[arg-type]


def summary_lines() -> list[str]:
    if not (FIGURES or KILLS or NOTES):
        return []
    lines = []
    if KILLS:
        by_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(KILLS.items()))
        lines.append(f"kills survived: {sum(KILLS.values())} ({by_kind})")
    order = ["requests fuzzed", "5xx seen", "refused requests that changed data", "leaks found",
             "concurrent actions", "concurrent 200", "concurrent 409", "lost updates",
             "duplicate mails (accepted, killed before marked)", "hostile inputs refused"]
    for name in order + sorted(set(FIGURES) - set(order)):
        if name in FIGURES:
            lines.append(f"{name}: {FIGURES[name]}")
    lines.extend(NOTES)
    return lines
