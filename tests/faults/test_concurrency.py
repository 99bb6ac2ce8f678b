"""Sixteen clients act on the same three cases at once over HTTP: no update is lost.

Each client reads a case (its version and the actions allowed to it now), then acts with
`expected_version`: a unit reports, the office sends the report back or reminds the unit, round
and round (reported ⇄ returned). Whoever read an old version gets 409 and nothing changes. After
the storm, for each case: its version went up by exactly the number of successful actions, the
audit trail holds exactly one event per success, the chain verifies, and replaying the trail's
transitions from `received` lands on the case's state. An answer is where the case stands now
(docs/http.md), read after the action's commit, so another client's action may already be in it:
every success got back a version at least as new as a version of its own, and the last to
commit got the case's last.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict

from sqlmodel import Session, col, select

from duban.models import AuditEvent, Case
from duban.services import CaseService
from duban.services.integrity import verify_audit
from tests.appworld import AppWorld, LiveServer, app_for, live_client
from tests.factories import REPORTED, SUPERVISOR, transferred, unit_actor
from tests.faults import figures

CLIENTS = 16
ROUNDS = 20
ROLES = ["unit"] * 6 + ["supervisor"] * 5 + ["dispatcher"] * 5
PLAYED = {"submit_report": {**REPORTED, "text": "已组织核查，正在整改"},
          "send_back": {"reasons": "整改不到位，重新办理"}, "remind": {"note": "请抓紧办理"}}


def _events(aw: AppWorld, number: str) -> list[AuditEvent]:
    with Session(aw.ctx.engine) as session:
        case = session.exec(select(Case).where(Case.number == number)).one()
        return list(session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                 .order_by(col(AuditEvent.seq))))


def test_sixteen_clients_on_three_cases_lose_no_update(aw: AppWorld) -> None:
    numbers = []
    for i in range(3):
        number = transferred(aw.ctx, title=f"并发测试第{i}件：小区停水", subject_org_code=None)
        # Start each case in a different state of the round (handling, reported, returned).
        if i >= 1:
            CaseService(aw.ctx).act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                                    form={**REPORTED, "text": "初次报告"})
        if i == 2:
            CaseService(aw.ctx).act(number, "send_back", actor=SUPERVISOR, form={"reasons": "不实"})
        numbers.append(number)
    before = {n: (CaseService(aw.ctx).get(n).version, len(_events(aw, n))) for n in numbers}

    outcomes: Counter[str] = Counter()
    versions: dict[str, list[int]] = defaultdict(list)  # versions returned by successful actions
    problems: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(index: int, base: str) -> None:
        rng = random.Random(index)
        role = ROLES[index]
        with live_client(base_url=base, headers=aw.auth(role), timeout=60) as http:
            start.wait()
            for _ in range(ROUNDS):
                number = rng.choice(numbers)
                seen = http.get(f"/api/cases/{number}")
                if seen.status_code != 200:
                    with lock:
                        problems.append(f"GET {number}: {seen.status_code} {seen.text[:200]}")
                    return
                detail = seen.json()
                allowed = [a["action"] for a in detail["allowed_actions"] if a["action"] in PLAYED]
                if not allowed:
                    with lock:
                        outcomes["nothing to do"] += 1
                    continue
                action = rng.choice(allowed)
                body = {"form": PLAYED[action], "expected_version": detail["case"]["version"]}
                answer = http.post(f"/api/cases/{number}/actions/{action}", json=body)
                with lock:
                    outcomes[str(answer.status_code)] += 1
                    if answer.status_code == 200:
                        versions[number].append(answer.json()["case"]["version"])
                    elif answer.status_code == 409:
                        outcomes[answer.json()["code"]] += 1
                    else:
                        problems.append(f"{action} {number}: {answer.status_code} {answer.text[:200]}")

    with LiveServer(app_for(aw)) as base:
        threads = [threading.Thread(target=client, args=(i, base)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert not problems, problems[:5]
    assert outcomes["409"] > 0, outcomes  # the clients really did collide

    for number in numbers:
        version0, events0 = before[number]
        successes = versions[number]
        case = CaseService(aw.ctx).get(number)
        # No lost update: the case counts every success, one version each.
        assert case.version == version0 + len(successes)
        # Each answer is at least as new as a version of its own: the k-th smallest answer is not
        # older than the k-th version the successes made (each answer can be matched to its own).
        answered = sorted(successes)
        made = range(version0 + 1, case.version + 1)
        assert all(seen >= own for seen, own in zip(answered, made, strict=True)), (number, answered)
        # The last action to commit read nothing newer than itself: its answer is the case's last.
        assert not answered or answered[-1] == case.version, (number, answered)
        events = _events(aw, number)
        assert len(events) == events0 + len(successes)
        state: str | None = None
        for event in events:  # replay: each event starts where the one before ended
            assert event.from_state == state, (number, event.seq, event.action)
            state = event.to_state
        assert state == case.state
    assert verify_audit(aw.ctx)[2] == []

    figures.add("concurrent actions", outcomes["200"] + outcomes["409"])
    figures.add("concurrent 200", outcomes["200"])
    figures.add("concurrent 409", outcomes["409"])
    figures.add("lost updates", 0)
    figures.note(f"concurrency ({aw.ctx.engine.dialect.name}): {CLIENTS} clients × {ROUNDS} rounds "
                 "on 3 cases: "
                 f"{outcomes['200']} done, {outcomes['409']} refused with 409 "
                 f"({outcomes['stale_case']} stale, {outcomes['action_not_allowed']} no longer allowed)")
