"""POST /api/bulk/actions and /api/bulk/export: one outcome per case, out of scope as not found."""

from __future__ import annotations

import io

import httpx
from openpyxl import load_workbook

from duban.services import CaseService
from tests.appworld import SECRET_NAME, SECRET_PHONE, AppWorld
from tests.factories import CLERK, DISPATCHER, complaint

MISSING = "GS-LZ-2023-99999"


def lanzhou_cases(aw: AppWorld, count: int) -> list[str]:
    """Cases received by 兰州市办 (the `city` supervisor's office), handled by 城关区人民政府."""
    service = CaseService(aw.ctx)
    numbers = []
    for i in range(count):
        filed = complaint(office_code="GS-LZ", title=f"兰州第{i}件", subject_name=f"对象{i}",
                          subject_org_code=None, complainant_name=SECRET_NAME, complainant_phone=SECRET_PHONE)
        number = service.register(filed, actor=CLERK).case.number
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        numbers.append(number)
    return numbers


def linxia_case(aw: AppWorld) -> str:
    service = CaseService(aw.ctx)
    number = service.register(complaint(office_code="GS-LX", title="临夏的件", subject_name="",
                                        subject_org_code=None), actor=CLERK).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LX-GOV"})
    return number


def test_bulk_remind_answers_each_case_and_hides_what_is_out_of_scope(aw: AppWorld, client: httpx.Client
                                                                     ) -> None:
    a, b = lanzhou_cases(aw, 2)
    waiting = CaseService(aw.ctx).register(complaint(office_code="GS-LZ", title="待处置", subject_name="甲",
                                                     subject_org_code=None), actor=CLERK).case.number
    foreign = linxia_case(aw)
    body = {"action": "remind", "numbers": [a, waiting, foreign, MISSING, b], "form": {"note": "请抓紧"}}
    answer = client.post("/api/bulk/actions", json=body, headers=aw.auth("city"))
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["counts"] == {"ok": 2, "skipped": 0, "refused": 1, "not_found": 2}
    by_number = {o["number"]: o for o in out["outcomes"]}
    assert [o["number"] for o in out["outcomes"]] == [a, waiting, foreign, MISSING, b]
    assert by_number[a]["status_label"] == "已完成" and by_number[a]["state"] == "transferred"
    refused = by_number[waiting]
    assert (refused["status"], refused["code"]) == ("refused", "action_not_allowed")
    assert "不能执行“催办”" in refused["message_zh"]
    hidden, missing = dict(by_number[foreign]), dict(by_number[MISSING])
    hidden.pop("number"), missing.pop("number")
    assert hidden == missing and hidden["code"] == "case_not_found"

    again = client.post("/api/bulk/actions", json=body, headers=aw.auth("city")).json()
    assert again["counts"] == {"ok": 0, "skipped": 2, "refused": 1, "not_found": 2}
    assert {o["message_zh"] for o in again["outcomes"] if o["status"] == "skipped"} == {
        "1日内已催办过，本次未重复催办"}


def test_a_bad_bulk_request_is_refused_whole_naming_the_field(aw: AppWorld, client: httpx.Client) -> None:
    numbers = lanzhou_cases(aw, 2)
    before = aw.snapshot()
    for body, field in (
        ({"action": "reassign", "numbers": numbers, "form": {"unit": "GS-LZ-CG-SWJ"}}, "reason"),
        ({"action": "close", "numbers": numbers}, "action"),
        ({"action": "remind", "numbers": []}, "numbers"),
        ({"action": "remind", "numbers": [f"GS-LZ-2023-{i:05d}" for i in range(201)]}, "numbers"),
        ({"action": "assign_callback", "numbers": numbers, "form": {"assignee": "nobody"}}, "assignee"),
    ):
        answer = client.post("/api/bulk/actions", json=body, headers=aw.auth("city"))
        assert (answer.status_code, answer.json().get("field")) == (422, field), answer.text
        assert answer.json()["message_zh"]
    for many in (201, 5001):  # one figure, policy [bulk] max_cases: the schema said 最多5000项
        for path, body in (("actions", {"action": "remind"}), ("export", {})):
            answer = client.post(f"/api/bulk/{path}", headers=aw.auth("city"), json={
                **body, "numbers": [f"N{i}" for i in range(many)]}).json()
            assert answer["message_zh"] == "一次最多处理200件，请分批提交", (path, many, answer)
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    documented = schemas["BulkIn"]["properties"]["numbers"]
    assert documented["description"].endswith("here 200") and "maxItems" not in documented
    assert aw.snapshot() == before


def test_bulk_reassign_through_the_api_moves_each_case_once(aw: AppWorld, client: httpx.Client) -> None:
    numbers = lanzhou_cases(aw, 2)
    body = {"action": "reassign", "numbers": numbers, "form": {"unit": "GS-LZ-CG-SWJ", "reason": "职责调整"}}
    first = client.post("/api/bulk/actions", json=body, headers=aw.auth("dispatcher")).json()
    assert first["counts"]["ok"] == 2
    again = client.post("/api/bulk/actions", json=body, headers=aw.auth("dispatcher")).json()
    assert again["counts"]["skipped"] == 2
    assert CaseService(aw.ctx).get(numbers[0]).unit_id == CaseService(aw.ctx).get(numbers[1]).unit_id


def test_bulk_export_shows_the_complainant_only_to_roles_with_the_right(aw: AppWorld, client: httpx.Client
                                                                       ) -> None:
    numbers = lanzhou_cases(aw, 2)
    wanted = [*numbers, linxia_case(aw), MISSING]
    # The province's dispatcher sees every case and who complained; 兰州 and the unit neither 临夏's
    # case nor anyone's identity.
    for user, sees in (("dispatcher", True), ("city", False), ("unit", False)):
        answer = client.post("/api/bulk/export", json={"numbers": wanted}, headers=aw.auth(user))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
        book = load_workbook(io.BytesIO(answer.content), read_only=True)
        text = str([list(ws.iter_rows(values_only=True)) for ws in book.worksheets])
        assert (SECRET_NAME in text, SECRET_PHONE in text) == (sees, sees), user
        assert ("临夏的件" in text) == sees
        assert answer.headers["x-duban-exported"] == ("3" if sees else "2")
        assert answer.headers["x-duban-not-found"] == ("1" if sees else "2")


def test_bulk_export_of_a_case_with_a_control_character_in_its_title_is_a_workbook(
        aw: AppWorld, client: httpx.Client) -> None:
    service = CaseService(aw.ctx)
    number = service.register(complaint(office_code="GS-LZ", title="停水\x0b三天", subject_name="",
                                        subject_org_code=None), actor=CLERK).case.number
    answer = client.post("/api/bulk/export", json={"numbers": [number]}, headers=aw.auth("dispatcher"))
    assert answer.status_code == 200, answer.text
    book = load_workbook(io.BytesIO(answer.content), read_only=True)
    assert "停水三天" in str(list(book.worksheets[0].iter_rows(values_only=True)))


def test_a_number_with_text_after_it_acts_on_no_case(aw: AppWorld, client: httpx.Client) -> None:
    (number,) = lanzhou_cases(aw, 1)
    before = aw.snapshot()
    padded = number + " " * 30 + "备注：加急"  # its first 40 characters, stripped, are the number
    answer = client.post("/api/bulk/actions", headers=aw.auth("city"),
                         json={"action": "remind", "numbers": [padded, "Ｇ" * 100_000]})
    outcomes = answer.json()["outcomes"]
    assert [o["status"] for o in outcomes] == ["not_found", "not_found"], answer.text
    assert all(len(o["number"]) <= 41 for o in outcomes)
    assert aw.snapshot() == before


def test_bulk_reassign_to_the_unit_a_case_complains_about_says_it_went_a_level_up(
        aw: AppWorld, client: httpx.Client) -> None:
    (number,) = lanzhou_cases(aw, 1)  # complains about 对象0, no org: any unit may take it
    service = CaseService(aw.ctx)
    about = service.register(complaint(office_code="GS-LZ", title="水务局不作为", subject_name="城关区水务局",
                                       subject_org_code="GS-LZ-CG-SWJ"), actor=CLERK).case.number
    service.act(about, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    form = {"unit": "GS-LZ-CG-SWJ", "reason": "职责调整"}
    answer = client.post("/api/bulk/actions", headers=aw.auth("city"),
                         json={"action": "reassign", "numbers": [number, about], "form": form})
    plain, avoided = answer.json()["outcomes"]
    assert (plain["status"], plain["code"]) == ("ok", None)
    assert (avoided["status"], avoided["code"]) == ("ok", "avoidance"), answer.text
    assert avoided["message_zh"].startswith("回避")


def test_a_unit_code_typed_full_width_or_in_lower_case_is_the_unit_for_one_case_and_for_many(
        aw: AppWorld, client: httpx.Client) -> None:
    one, many, lower = lanzhou_cases(aw, 3)
    swj = CaseService(aw.ctx).ctx.orgs.by_code("GS-LZ-CG-SWJ").id
    answer = client.post(f"/api/cases/{one}/actions/reassign", headers=aw.auth("dispatcher"),
                         json={"form": {"unit": "ＧＳ－ＬＺ－ＣＧ－ＳＷＪ", "reason": "职责调整"}})
    assert answer.status_code == 200, answer.text  # it was 422 没有这个代码的单位
    answer = client.post(f"/api/cases/{lower}/actions/reassign", headers=aw.auth("dispatcher"),
                         json={"form": {"unit": "　gs-lz-cg-swj ", "reason": "职责调整"}})
    assert answer.status_code == 200, answer.text
    body = {"action": "reassign", "numbers": [many],
            "form": {"unit": "ｇｓ－ｌｚ－ｃｇ－ｓｗｊ", "reason": "职责调整"}}
    bulk = client.post("/api/bulk/actions", json=body, headers=aw.auth("dispatcher")).json()
    assert bulk["counts"]["ok"] == 1, bulk
    assert {CaseService(aw.ctx).get(n).unit_id for n in (one, many, lower)} == {swj}
