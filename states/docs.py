"""docs/states.md, generated from the machine's data (`python -m duban.states.docs > docs/states.md`)."""

from __future__ import annotations

from duban.states.diagram import to_mermaid

HEADER = """# The case state machine

Generated from `states/definition.py` by `python -m duban.states.docs > docs/states.md`;
`tests/states/test_docs.py` fails when this file and the definition drift apart.
Self-loops are actions that keep the state (extensions, reassignment, progress reports, the
escalation ladder's notices): they are audited like every other action.
`duban states diagram --format svg` draws the same machine with Graphviz.

## 移交纪检监察机关 (refer): a path of its own

- `refer` runs from received, every handling state and reported. The form says whether the
  unit's handling continues (`handling_continues`). If not, the case goes to `referred`: the
  commission holds it, it has no handling limit and the escalation ladder never chases it. If so,
  the case keeps its state, unit and limit, and the referral runs beside it (a self-loop).
- The commission is the one with jurisdiction (policy `[referral.jurisdiction]`): the commission
  of the subject's region, or of the region above when the subject is a commission. A
  dispatcher who names one is checked by `routing.check_target`.
- The commission then acts in three steps, each a self-loop beside a continuing case:
  `acknowledge_referral` (受理), `record_result` (one outcome of `[referral.outcomes]`), and
  `notify_result` (result feedback to a real-name reporter).
- A referred case closes with `record_result` when the reporter is anonymous, and with
  `notify_result` otherwise. No referred case closes without an outcome.
- A real-name reporter is owed two notices, each with its own limit (`[referral]`):
  acceptance, counted from the referral; the result, counted from the outcome.
  - On a referred case the due notice is the case's deadline, so its colour follows it.
  - A late notice is reminded to the commission by the sweep (`remind_notice`).
- Referral data lives in the `referrals` table. A referred case, and the referral steps of any
  case, are seen only by the commission, the referring office's supervisors and leaders, and
  admins (`services/scope.py`).

```mermaid
"""


def render() -> str:
    return HEADER + to_mermaid() + "\n```\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
