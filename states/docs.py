"""docs/states.md, generated from the machine's data (`python -m duban.states.docs > docs/states.md`)."""

from __future__ import annotations

from duban.states.diagram import to_mermaid

HEADER = """# The case state machine

Generated from `states/definition.py` by `python -m duban.states.docs > docs/states.md`;
`tests/states/test_docs.py` fails when this file and the definition drift apart.
Self-loops are actions that keep the state (extensions, reassignment, progress reports, the
escalation ladder's notices): they are audited like every other action.
`duban states diagram --format svg` draws the same machine with Graphviz.

```mermaid
"""


def render() -> str:
    return HEADER + to_mermaid() + "\n```\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
