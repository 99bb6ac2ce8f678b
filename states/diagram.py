"""Drawings of the machine, generated from TRANSITIONS so they cannot drift from it."""

from __future__ import annotations

from duban.config.policy import get_labels
from duban.states.definition import TRANSITIONS, CaseState


def _edges() -> list[tuple[str, str, str]]:
    edges: list[tuple[str, str, str]] = []
    for t in TRANSITIONS:
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        for source in sources:
            dest = t["dest"] or source
            edges.append((CaseState(source).value, CaseState(dest).value, t["trigger"]))
    return edges


def to_mermaid() -> str:
    labels = get_labels()
    lines = ["stateDiagram-v2", f"    [*] --> {CaseState.RECEIVED.value}"]
    for state in CaseState:
        lines.append(f"    {state.value} : {state.value} {labels.of('states', state.value)}")
    for source, dest, trigger in _edges():
        lines.append(f"    {source} --> {dest} : {trigger} {labels.of('actions', trigger)}")
    lines.append(f"    {CaseState.CLOSED.value} --> [*]")
    return "\n".join(lines)


def to_dot() -> str:
    labels = get_labels()
    lines = ['digraph case {', '  rankdir=LR; node [shape=box, style=rounded, fontname="Noto Sans CJK SC"];',
             '  edge [fontname="Noto Sans CJK SC", fontsize=10];']
    for state in CaseState:
        lines.append(f'  {state.value} [label="{state.value}\\n{labels.of("states", state.value)}"];')
    for source, dest, trigger in _edges():
        lines.append(f'  {source} -> {dest} [label="{trigger}\\n{labels.of("actions", trigger)}"];')
    lines.append("}")
    return "\n".join(lines)
