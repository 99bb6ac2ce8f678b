"""docs/states.md, generated from the machine's data (`python -m duban.states.docs > docs/states.md`)."""

from __future__ import annotations

from duban.states.diagram import to_mermaid

HEADER = """# The case state machine

Generated from `states/definition.py` by `python -m duban.states.docs > docs/states.md`;
`tests/states/test_docs.py` fails when this file and the definition drift apart.
Self-loops are actions that keep the state (签收, 退单 requests and their rejection, extensions,
reassignment, progress reports, the escalation ladder's notices): they are audited like every other action.
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

## 不予受理 (decline) and extensions in the policy's unit

- `decline` takes a received case to `not_accepted`, with a reason of policy
  `[intake.decline_reasons]` (each names its rule) and a note (redacted twin), in the `declines`
  table; `cases.decline_reason` holds it while the case stays declined. The triage limit stops.
  `not_accepted` is neither handling nor closed: lists, repeat links and open counts treat it as
  finished (`FINISHED_STATES`), and `reinstate` (supervisor, admin) takes it back to `received`
  with a reason and a fresh triage limit. Reports count declines by reason.
- `request_extension` asks an amount in policy `[extension] unit` (working days by default); one
  extension may move the deadline at most `max_days` in `max_unit` (art. 34: 30 calendar days).
  `approve_extension` grants it in full or in part (`days` at most the amount asked),
  `reject_extension` needs a reason. The deadline moves by the amount granted, in its unit, on
  the official calendar (`cases.extension_unit`). Pending requests wait in the approver's queue
  (`duban.services.extqueue`): only approvers of the case's office of record see them.

## 回访 (callbacks): method, scale, 联系不上

- `record_callback` records a callback on a verified case: its method (phone 电话 | sms 短信 |
  visit 走访) and its result on the scale (satisfied 满意 | basically_satisfied 基本满意 |
  unsatisfied 不满意). Which results count as satisfied is policy (`[callbacks]
  satisfied_results`, by default 满意 and 基本满意): such a result closes the case; any other
  sends it back to the unit (returned, a new handling limit) and needs the complainant's reason.
- Result `unreachable` (联系不上) is an attempt that reached nobody: recorded with its method,
  time and note, the state stays (the self-loop). After `[callbacks] unreachable_after_attempts`
  of them in one verification, `close_unreachable` closes the case as unreachable: counted
  apart in the reports, never as satisfied.
- `close` without a callback: a real-name case needs a reason from `[callbacks] close_reasons`;
  without one it is refused with `CallbackOwed`, which names the three ways out. An anonymous
  case closes with no reason: nobody can be called (it is never sampled for a callback either).

## The unit's part: 签收, 退单, the handling report

- `sign_for` (签收): every handover to a new unit (dispatch, reassignment, 提级直办 to an office
  above, a new dispatch after an accepted 退单) clears `cases.signed_at` / `signed_by` and sets
  `sign_due_on` from policy `[deadlines.sign_for]`; the unit signs once (a self-loop) and the
  case shows 已签收 with when and who. An office handling a case itself signs for nothing.
  Unsigned past its day, the sweep fires `remind_sign_for` to the unit once per handover
  (a `PressureStep` of episode `s<due day>`), mail through the outbox. Lists filter 待签收.
- 退单 is a request: `request_return` (the unit, within `[deadlines.objection]` of dispatch, a
  reason required, one pending at a time) keeps the case with the unit, its clock running. The
  dispatcher of the office holding the case decides: `accept_return` sends it back to `received`
  (no unit, triage limit, the request marked accepted with the unit's reason, counted as 退单 in
  the reports), `reject_return` (a reason required) leaves it with the unit. A request the case
  moves past (reassigned, escalated, referred, or the unit reports) lapses. Requests live in
  `objections` (rows from before migration 0012 took effect at once and read as accepted).
- `submit_report` states 是否属实 (`finding`: true 属实 | partly_true 部分属实 | untrue 不属实),
  what was done (`actions_taken`), 整改措施 (`rectification`) and 问责情况 (`accountability`)
  besides its text; policy `[handling_report] required` names the parts a final report must
  fill in. Each text has its redacted twin. Progress reports stay free text.

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


# 复查 / 复核 / 终结 (duban.services.reviews).
REVIEWS = """
## 复查, 复核, 终结: the complainant's review of the reply

信访工作条例(2022) art. 35, 36; limits and outcomes in policy `[reviews]`, each with its source.

- The reply (处理意见) is the approved handling report: `approve` stamps `cases.replied_at`. From
  `verified` or `closed`, within `[reviews] request` (30 days, calendar days moved off a day off)
  of it, `request_reexamination` (复查) sends the case to `reexamination`; the reviewing office is
  the office above the office of record (`routing.higher_office`; the province reviews its own).
- `decide_reexamination`, by that office (or one above it) only, within `[reviews] decision` (30
  days; the case's deadline kind `reexamination`, red when late, reminded to the reviewing office by
  the sweep's `remind_review`), picks one of `[reviews.outcomes]`: `rehandle = true` (撤销重办,
  变更) sends it back to its unit (`returned`, the disposition's handling limit); otherwise (维持)
  it is `closed` again and the opinion becomes the answer the next window runs from.
- `request_recheck` (复核) then runs the same way from the 复查 opinion, or from the new reply after
  a re-handling: the office above the 复查 office decides it (`decide_recheck`). Once it is decided
  the case is concluded (终结, `cases.concluded_at`): every later request is refused with
  `CaseConcluded`; a new complaint on the same matter key is registered and flagged in its first
  event (`concluded_matter`).
- `duban.services.reviews.request_review(ctx, number, actor=, reason=)` is the one door for a
  request (staff recording a call or letter, the online channel's `citizen`); it picks the level by
  the stage and refuses with `NotYetReplied`, `ReviewWindowPassed`, `CaseConcluded` or
  `ReviewPending` (409, both languages).
- While a case is under review its unit does not see it (scope, lists); it sees it again when a
  re-handling is ordered. Identity stays with the clerks and dispatchers of the receiving office and
  the offices above it, the reviewing offices included (`[privacy]`).
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
    return HEADER + to_mermaid() + "\n```\n" + HOLDER + REVIEWS + DELEGATION


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
