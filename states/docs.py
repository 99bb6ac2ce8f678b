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


# Who may fire the actions above, once a case has moved up (duban.services.scope, routing).
HOLDER = """
## Who holds a case: the office of record

A case has two offices. The receiving office (`cases.office_id`) keeps its number, its level and
its place in the reports. The office of record (`cases.record_office_id`, the receiving office
while it is empty) reviews, approves extensions, reassigns, calls back and presses. `escalate`
(by a person, or by the ladder's `step_up` reaching it) and avoidance hand the case to an office
above; that office becomes the office of record, and the office below reads the case (page, API,
lists) with no action left to it: each one is refused with `CaseHeldElsewhere`, naming the holder.
Its work queues (inbox) leave the case out. An office handling a case another office holds (a
province case escalated to the city above its county unit) acts on it as its unit does (reports).
Identity stays with clerks and dispatchers of the receiving office and of every office above it,
the office of record included.
"""


# 二次交办: a government passes a case on to its department (duban.services.delegation).
DELEGATION = """
## 二次交办 (delegate): a government passes a case on to its department

- `delegate` (role unit, the government handling the case; policy `[delegation]`
  allowed_from_kinds) names one of its departments: an org of a `target_kinds` kind under the
  government's own office (same region and level). Never an org the case complains about (the
  dispatch avoidance rule, `routing.avoided_for`), never one of another region. It is a self-loop
  in any handling state: the state, the handling limit and `cases.unit_id` stay the
  government's, which the ladder presses and the reports rank. The department is `cases.delegate_id`.
- The department's users (role unit of that org) see the case in their lists, inbox and pages,
  and do what `department_actions` lists: `submit_report`, `report_progress`, `request_extension`
  (it does the work and knows what time it needs; the office approves as for any unit). The
  government does not do those while the case is delegated; the department does nothing else.
  Another department is told the case does not exist. A complainant's consent lets the department
  see identity exactly as it lets the unit; without it the department reads the redacted texts.
- The department's `submit_report` is a self-loop: the report is recorded (written by the
  department) and waits for the government (`cases.delegate_report_pending`, the government's
  inbox queue "待本级政府审核的部门办理报告"). The government then either
  `forward_report`s it (→ `reported`: the office's review limit starts, and whether the handling
  limit was kept is judged now; the office keeps the final review, `approve` / `send_back`), or
  `return_delegate_report`s it with reasons (the state stays; the department reports again). Both
  are recorded as reviews (`forwarded`, `gov_returned`).
- While no report waits, the government may `delegate` again (another department) or
  `recall_delegation` (it handles the case itself again). A case the office sends back, or a
  callback returns, goes back to the same department. A case handed to another unit
  (`reassign`, `escalate`, avoidance, 退单) leaves the department (`delegation_ended` in the event).
"""


def render() -> str:
    return HEADER + to_mermaid() + "\n```\n" + HOLDER + DELEGATION


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
