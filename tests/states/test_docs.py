from __future__ import annotations

from pathlib import Path

from duban.states.docs import render


def test_the_committed_diagram_matches_the_machine() -> None:
    committed = (Path(__file__).parents[2] / "docs" / "states.md").read_text(encoding="utf-8")
    assert committed == render(), "regenerate: python -m duban.states.docs > docs/states.md"
