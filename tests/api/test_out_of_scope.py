"""Out of scope is "not found", always: a unit asking for another unit's case, whatever its state,
gets exactly the answer a number that does not exist gets (status and body), on every door."""

from __future__ import annotations

import re

import httpx

from duban.services import CaseService
from tests.api.test_confidentiality import Visitor
from tests.appworld import AppWorld, LiveServer, app_for
from tests.factories import CLERK, DISPATCHER, REPORTED, SUPERVISOR, complaint, unit_actor

MISSING = "GS-2023-99999"


def _theirs(aw: AppWorld) -> dict[str, str]:
    """Cases of 城关区水务局 (not the `unit` user's) that are open, returned, closed; and one received."""
    service = CaseService(aw.ctx)
    other = unit_actor(aw.ctx, "GS-LZ-CG-SWJ")
    out = {}
    for n, state in enumerate(("transferred", "returned", "closed", "received")):
        number = service.register(complaint(title=f"别家的第{n}件", subject_name=f"对象{n}"),
                                  actor=CLERK).case.number
        out[state] = number
        if state == "received":
            continue
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-SWJ"})
        if state == "transferred":
            continue
        service.act(number, "submit_report", actor=other, form={**REPORTED, "text": "已办理"})
        if state == "returned":
            service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "未解决"})
            continue
        service.act(number, "approve", actor=SUPERVISOR, form={})
        service.act(number, "record_callback", actor=DISPATCHER,
                    form={"method": "phone", "result": "satisfied", "note": "满意"})
    assert CaseService(aw.ctx).get(out["closed"]).state == "closed"
    assert CaseService(aw.ctx).get(out["returned"]).state == "returned"
    return out


def _shape(answer: httpx.Response, number: str) -> tuple[int, str]:
    # The number asked for may be echoed (it is the caller's own input); nothing else may differ.
    body = answer.text.replace(number, "NUMBER")
    body = re.sub(r'name="csrf" value="[0-9a-f]+"', "", body)
    return answer.status_code, body


def test_another_units_case_in_any_state_answers_like_a_number_that_does_not_exist(aw: AppWorld) -> None:
    theirs = _theirs(aw)
    with LiveServer(app_for(aw)) as site:
        visitor = Visitor(site, aw, "unit")
        try:
            doors = [("GET", "/api/cases/{n}"), ("GET", "/api/cases/{n}/timeline"),
                     ("GET", "/api/cases/{n}/reports"), ("GET", "/api/cases/{n}/actions"),
                     ("POST", "/api/cases/{n}/actions/submit_report"),
                     ("POST", "/api/cases/{n}/actions/request_extension"),
                     ("GET", "/cases/{n}"), ("POST", "/cases/{n}/actions/submit_report")]
            for method, door in doors:
                missing = _shape(visitor.call(method, door.format(n=MISSING)), MISSING)
                assert missing[0] == 404, (door, missing)
                for state, number in theirs.items():
                    answer = visitor.call(method, door.format(n=number))
                    assert _shape(answer, number) == missing, (door, state)
            listing = visitor.call("GET", "/api/cases?limit=500").json()["items"]
            assert not {r["number"] for r in listing} & set(theirs.values())
            for number in theirs.values():
                found = visitor.call("GET", f"/api/cases?text={number}").json()["items"]
                assert found == []
        finally:
            visitor.close()


def test_no_statement_behind_any_page_or_api_read_names_a_raw_column_for_a_reader_without_the_right(
        aw: AppWorld) -> None:
    from sqlalchemy import event

    from tests.api.test_confidentiality import app_routes, filled, seeded
    from tests.services.test_reading import RAW_COLUMN

    cases = seeded(aw)
    aw.advance(days=40)  # overdue: boards, dashboards and reports list the cases
    app = app_for(aw)
    reads = [(m, p) for m, p in app_routes(app) if m == "GET"]
    # The one case a reader may see in full: the unit's own, whose complainant agreed.
    consented = CaseService(aw.ctx).get(cases["consented"]).id
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        values = list(parameters.values()) if isinstance(parameters, dict) else list(parameters or ())
        if values != [consented]:
            seen.append(statement)

    with LiveServer(app) as site:
        for who in ("unit", "leader", "county", "supervisor", "admin"):
            visitor = Visitor(site, aw, who)
            event.listen(aw.ctx.engine, "before_cursor_execute", record)
            try:
                for _, path in reads:
                    for concrete in filled(path, cases):
                        visitor.call("GET", concrete)
                        visitor.call("GET", concrete + "?text=" + "欧阳%25")
            finally:
                event.remove(aw.ctx.engine, "before_cursor_execute", record)
                visitor.close()
            named = [s for s in seen if RAW_COLUMN.search(s)]
            assert len(seen) > 50 and named == [], (who, named[:2])  # as many statements as pages
            seen.clear()
