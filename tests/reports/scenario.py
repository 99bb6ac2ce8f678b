"""November 2023, by hand: a dozen cases whose every figure can be worked out on paper.

No holidays fall in November 2023, so "5 working days after Wed 1 Nov" is Wed 8 Nov. Enterprise
priority (the factories' default) gets the short limits: transfer and supervise 5 working days,
refer 15, key-supervise 30 calendar days.

    case  received           what happens                                          in November
    G     Wed 25 Oct (GS)    transfer; report 27 Oct; approved; callback 满意 by phone 2 Nov
                                                                                    closed on time
    A     Wed 1 Nov  (GS)    transfer (due 8 Nov); report 3 Nov; approved; 7 Nov a phone call
                             reaches nobody (联系不上), then a visit: 基本满意
    B     Wed 1 Nov  (GS)    anonymous (无法回访); supervise (due 8 Nov); report 10 Nov — late;
                             approved; closed 14 Nov with no callback
    C     Thu 2 Nov  (GS)    transfer (due 9 Nov); never answers; reminded 10 Nov, copy notice
                             13 Nov                                                 overdue at end
    E     Mon 6 Nov  (GS)    transfer (due 13 Nov); extension +10 days (due 23 Nov); report 15 Nov;
                             sent back 16 Nov (due 23 Nov); report 21 Nov; approved; callback by SMS
                             不满意 23 Nov (due 30 Nov)                             open, not overdue
    F     Tue 7 Nov  (GS)    referred to the commission; result 14 Nov             closed on time
    H     Wed 8 Nov  (GS)    key-supervised to 省发展改革委; progress report 20 Nov   open
    I     Thu 9 Nov  (GS)    transfer; the unit objects 10 Nov; re-transferred 13 Nov to 兰州市住建局
                             (due 20 Nov); no answer since                           overdue at end
    K     Wed 15 Nov (GS-LZ) letter; transfer (due 22 Nov); report 17 Nov; approved; closed 21 Nov
                             (the complainant declined a callback)
    D     Mon 20 Nov (GS)    not yet disposed (triage due 5 Dec)
    J     Fri 1 Dec  (GS)    transfer                                              outside November
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from duban.clock import SimulatedClock, parse_local
from duban.services import CaseService, ServiceContext
from tests.factories import CLERK, DISPATCHER, SUPERVISOR, complaint, unit_actor, world

# What November's report must say, worked out by hand from the table above.
EXPECTED = {
    "received": 9, "disposed": 8, "undisposed": 1, "dispatched": 8, "responded": 7, "resolved": 4,
    "cohort_closed": 4, "closed": 5, "on_time": 4, "rehandled_closed": 0, "overdue": 2,
    "callbacks": 3, "satisfied": 2, "key": 1, "key_progress": 1, "supervision": 2,
    # G, A's two tries and E; A's first reached nobody; B was anonymous (K declined: not counted).
    "callback_attempts": 4, "callback_unreachable": 1, "uncallable": 1,
}
EXPECTED_EVENTS = {"returns": 1, "callback_returns": 1, "reopened": 0, "extension_requests": 1,
                   "extensions_approved": 1, "extensions_rejected": 0, "objections": 1,
                   "escalations": 0, "step_ups": 0, "refers": 1, "declined": 0, "reinstated": 0,
                   "closed_unreachable": 0}
EXPECTED_RATES = {"response": 7 / 8, "resolution": 4 / 8, "satisfaction": 2 / 3, "on_time": 4 / 5}
EXPECTED_DISPOSITIONS = {"transfer": 5, "supervise": 1, "key_supervise": 1, "escalate": 0, "refer": 1,
                         "none": 1}


@dataclass
class November:
    ctx: ServiceContext
    numbers: dict[str, str]  # letter -> case number


def build(engine: Engine) -> November:
    ctx = world(engine, start="2023-10-25 09:00")
    clock = ctx.clock
    assert isinstance(clock, SimulatedClock)
    service = CaseService(ctx)
    numbers: dict[str, str] = {}
    county = unit_actor(ctx, "GS-LZ-CG-GOV")

    def at(when: str) -> None:
        clock.set(parse_local(f"2023-{when}"))

    def register(letter: str, when: str, **overrides: object) -> str:
        at(when)
        fields: dict[str, object] = {"title": f"{letter}：城关区某项目拖欠工程款",
                                     "subject_name": "城关区住建局"}
        fields.update(overrides)
        numbers[letter] = service.register(complaint(**fields), actor=CLERK).case.number
        return numbers[letter]

    def act(letter: str, when: str, action: str, actor: object = DISPATCHER, **form: object) -> None:
        at(when)
        if action == "submit_report":  # a final report states 是否属实 and what was done
            form = {"finding": "true", "actions_taken": form["text"], **form}
        service.act(numbers[letter], action, actor=actor, form=form)  # type: ignore[arg-type]

    register("G", "10-25 09:00")
    act("G", "10-25 10:00", "transfer", unit="GS-LZ-CG-GOV")
    act("G", "10-27 10:00", "submit_report", county, text="已付清")
    act("G", "10-30 10:00", "approve", SUPERVISOR)
    act("G", "11-02 10:00", "record_callback", SUPERVISOR, method="phone", result="satisfied")

    register("A", "11-01 09:00")
    act("A", "11-01 10:00", "transfer", unit="GS-LZ-CG-GOV")
    act("A", "11-03 10:00", "submit_report", county, text="已付清")
    act("A", "11-06 10:00", "approve", SUPERVISOR)
    act("A", "11-07 09:00", "record_callback", SUPERVISOR, method="phone", result="unreachable",
        note="无人接听")
    act("A", "11-07 10:00", "record_callback", SUPERVISOR, method="visit", result="basically_satisfied")

    register("B", "11-01 11:00", subject_name="兰州市交通局", subject_org_code=None,
             complainant_real_name=False, complainant_name="", complainant_phone="")  # 匿名: 无法回访
    act("B", "11-01 12:00", "supervise", unit="GS-LZ-ZJJ")
    act("B", "11-10 10:00", "submit_report", unit_actor(ctx, "GS-LZ-ZJJ"), text="已整改")
    act("B", "11-13 10:00", "approve", SUPERVISOR)
    act("B", "11-14 10:00", "close", SUPERVISOR)

    register("C", "11-02 09:00")
    act("C", "11-02 10:00", "transfer", unit="GS-LZ-CG-SWJ")
    act("C", "11-10 10:00", "remind", SUPERVISOR)
    act("C", "11-13 10:00", "copy_notice", SUPERVISOR)

    register("E", "11-06 09:00")
    act("E", "11-06 10:00", "transfer", unit="GS-LZ-CG-GOV")
    act("E", "11-08 10:00", "request_extension", county, days=10, reason="需协调资金")
    act("E", "11-09 10:00", "approve_extension", SUPERVISOR)
    act("E", "11-15 10:00", "submit_report", county, text="已协调")
    act("E", "11-16 10:00", "send_back", SUPERVISOR, reasons="事实不清")
    act("E", "11-21 10:00", "submit_report", county, text="已补充")
    act("E", "11-22 10:00", "approve", SUPERVISOR)
    act("E", "11-23 10:00", "record_callback", SUPERVISOR, method="sms", result="unsatisfied",
        reason="资金仍未到账")

    register("F", "11-07 09:00", subject_name="城关区某街道干部", subject_kind="person",
             subject_org_code=None)
    act("F", "11-07 10:00", "refer")
    act("F", "11-08 10:00", "acknowledge_referral", SUPERVISOR)
    act("F", "11-14 10:00", "record_result", SUPERVISOR, outcome="case_opened", text="已问责")
    act("F", "11-14 11:00", "notify_result", SUPERVISOR)

    register("H", "11-08 09:00", subject_name="华能某发电公司", subject_kind="enterprise",
             subject_org_code=None)
    act("H", "11-08 10:00", "key_supervise", unit="GS-FGW")
    act("H", "11-20 10:00", "report_progress", unit_actor(ctx, "GS-FGW"), text="已分类提出意见")

    register("I", "11-09 09:00")
    act("I", "11-09 10:00", "transfer", unit="GS-LZ-CG-GOV")
    act("I", "11-10 09:00", "request_return", county, reason="不属本单位职责")
    act("I", "11-10 10:00", "accept_return")
    act("I", "11-13 10:00", "transfer", unit="GS-LZ-ZJJ")

    register("K", "11-15 09:00", office_code="GS-LZ", channel="letter")
    act("K", "11-15 10:00", "transfer", unit="GS-LZ-CG-GOV")
    act("K", "11-17 10:00", "submit_report", county, text="已解决")
    act("K", "11-20 10:00", "approve", SUPERVISOR)
    act("K", "11-21 10:00", "close", SUPERVISOR, reason="declined")

    register("D", "11-20 09:00")

    register("J", "12-01 09:00")
    act("J", "12-01 10:00", "transfer", unit="GS-LZ-CG-GOV")
    at("12-05 09:00")
    return November(ctx, numbers)
