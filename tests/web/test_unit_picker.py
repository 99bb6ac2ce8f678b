"""The unit picker: one datalist per case page, and what a person types into it read to a unit; in
Chromium, on a desktop and on a phone, a dispatcher finds a unit by part of its name and transfers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from duban.errors import InvalidActionInput
from duban.models import Case, Org, Subject
from duban.services.reading import case_detail
from duban.web.units import UnitPicker
from tests.appworld import AppWorld, fast_password_hashing  # noqa: F401
from tests.factories import DISPATCHER, org_id, registered, transferred
from tests.web.devices import act, fits, signed_in_on
from tests.web.test_pages_http import csrf_of, signed_in


def _unit_of(aw: AppWorld, number: str) -> str | None:
    unit = case_detail(aw.ctx, number, actor=DISPATCHER)["unit"]
    return unit["code"] if unit else None


def test_the_case_page_sends_the_unit_list_once_however_many_forms_pick_a_unit(
        aw: AppWorld, site: str) -> None:
    number = transferred(aw.ctx)
    with signed_in(site, "dispatcher") as browser:
        page = browser.get(f"/cases/{number}").text
    pickers = re.findall(r'<input type="text" id="[a-z_]+-unit" name="unit"[^>]*>', page)
    assert len(pickers) >= 2, "a transferred case offers several actions that name a unit"
    lists = re.findall(r'<datalist id="([a-z-]+)">', page)
    assert len(lists) == 1
    assert all(f'list="{lists[0]}"' in picker for picker in pickers)
    assert page.count('<option value="GS-LZ-CG-SWJ"') == 1
    # No form picks a unit from a select of its own (a final report's 是否属实 is a small one).
    assert not re.search(r'<select[^>]*name="unit"', page.split('<div class="actions">', 1)[1])


def test_a_page_without_a_unit_form_sends_no_unit_list(aw: AppWorld, site: str) -> None:
    number = transferred(aw.ctx)
    with signed_in(site, "unit") as browser:  # the unit reports; it picks no unit
        page = browser.get(f"/cases/{number}").text
    assert "<datalist" not in page and 'name="unit"' not in page


@pytest.mark.parametrize("typed", ["城关区水务局", " 城关区水务局 ", "GS-LZ-CG-SWJ", "gs-lz-cg-swj",
                                   "城关区水务局（GS-LZ-CG-SWJ）", "城关区水务局 (ＧＳ-ＬＺ-ＣＧ-ＳＷＪ)"])
def test_a_unit_typed_by_name_code_or_both_is_that_unit(aw: AppWorld, site: str, typed: str) -> None:
    number = registered(aw.ctx)
    with signed_in(site, "dispatcher") as browser:
        token = csrf_of(browser.get(f"/cases/{number}").text)
        answer = browser.post(f"/cases/{number}/actions/transfer",
                              data={"csrf": token, "version": "1", "unit": typed})
        assert answer.status_code == 303, answer.text
    assert _unit_of(aw, number) == "GS-LZ-CG-SWJ"


@pytest.mark.parametrize("typed", ["没有这个单位", "城关区", "水务局", "城关区水务局（某某）", "<b>局</b>"])
def test_a_name_that_is_no_unit_comes_back_422_in_chinese_and_changes_nothing(
        aw: AppWorld, site: str, typed: str) -> None:
    number = registered(aw.ctx)
    before = aw.snapshot()
    with signed_in(site, "dispatcher") as browser:
        token = csrf_of(browser.get(f"/cases/{number}").text)
        answer = browser.post(f"/cases/{number}/actions/transfer",
                              data={"csrf": token, "version": "1", "unit": typed, "note": "请办理"})
    assert answer.status_code == 422
    assert "承办单位：没有这个名称或代码的单位，请从列表中选择" in answer.text
    shown = re.search(r'id="transfer-unit" name="unit" value="([^"]*)"', answer.text)
    assert shown and shown.group(1) == ""  # a refusal does not repeat what was typed
    assert "请办理" in answer.text  # the rest of the form is kept
    assert aw.snapshot() == before


def _twins(aw: AppWorld) -> None:
    """Two units of one name, in two cities."""
    with Session(aw.ctx.engine) as session:
        for parent, code in (("GS-LZ", "GS-LZ-TWJ"), ("GS-LX", "GS-LX-TWJ")):
            session.add(Org(code=code, name="同名局", kind="bureau", level="city",
                            parent_id=org_id(aw.ctx, parent)))
        session.commit()
    aw.ctx.orgs.refresh()


def test_a_name_two_units_share_is_read_in_the_viewers_region(aw: AppWorld) -> None:
    _twins(aw)
    picker = UnitPicker(aw.ctx.orgs)
    assert picker.resolve("同名局", action="transfer", region="GS-LZ") == "GS-LZ-TWJ"
    assert picker.resolve("同名局", action="transfer", region="GS-LX") == "GS-LX-TWJ"
    assert picker.resolve("同名局（GS-LX-TWJ）", action="transfer", region="GS-LZ") == "GS-LX-TWJ"
    with pytest.raises(InvalidActionInput) as refused:
        picker.resolve("同名局", action="transfer", region=None)
    assert refused.value.kind == "ambiguous_org" and refused.value.field == "unit"


def test_a_name_two_units_share_is_refused_on_the_page_when_the_region_does_not_tell(
        aw: AppWorld, site: str) -> None:
    _twins(aw)
    number = registered(aw.ctx)
    with signed_in(site, "dispatcher") as browser:  # the province sees both
        page = browser.get(f"/cases/{number}").text
        assert page.count(">同名局</option>") == 2
        answer = browser.post(f"/cases/{number}/actions/transfer",
                              data={"csrf": csrf_of(page), "version": "1", "unit": "同名局"})
    assert answer.status_code == 422 and "有不止一个单位叫这个名称" in answer.text
    assert _unit_of(aw, number) is None


def test_a_unit_added_later_is_offered_without_a_restart(aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx)
    with signed_in(site, "dispatcher") as browser:
        assert "同名局" not in browser.get(f"/cases/{number}").text
        _twins(aw)
        assert browser.get(f"/cases/{number}").text.count(">同名局</option>") == 2


def test_a_county_dispatcher_is_offered_only_the_units_of_the_county(aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx, office_code="GS-LZ-CG")
    with signed_in(site, "county") as browser:
        page = browser.get(f"/cases/{number}").text
    offered = set(re.findall(r'<option value="([A-Z-]+)"', page.split("<datalist", 1)[1]))
    assert offered and all(code.startswith("GS-LZ-CG") for code in offered)


def test_the_case_list_filters_by_a_unit_code_and_names_an_unknown_one_without_reloading_orgs(
        aw: AppWorld, site: str) -> None:
    mine = transferred(aw.ctx)
    theirs = transferred(aw.ctx, unit="GS-LZ-CG-SWJ", title="另一件：某小区供水管网老化漏水",
                         complainant_name="另一位反映人", subject_name="某区第二水务所")
    generation = aw.ctx.orgs.generation()
    with signed_in(site, "dispatcher") as browser:
        listed = browser.get("/cases", params={"unit": "GS-LZ-CG-GOV"}).text
        unknown = browser.get("/cases", params={"unit": "GS-NOPE"})
    assert mine in listed and theirs not in listed
    assert unknown.status_code == 200 and "承办单位：没有这个名称或代码的单位" in unknown.text
    assert mine not in unknown.text and "GS-NOPE" not in unknown.text
    assert aw.ctx.orgs.generation() == generation


def test_registration_takes_the_subject_unit_from_the_one_list_by_name_and_refuses_a_name_of_none(
        aw: AppWorld, site: str) -> None:
    form = {"office_code": "GS", "title": "某村自来水停供一周", "category": "water", "channel": "phone",
            "priority": "livelihood", "complainant_name": "张某", "complainant_phone": "19900001111",
            "subject_kind": "unit", "subject_name": "水务局"}
    before = aw.snapshot()
    with signed_in(site, "clerk") as browser:
        page = browser.get("/cases/new").text
        assert page.count("<datalist") == 1 and page.count('<option value="GS-LZ-CG-SWJ"') == 1
        assert not re.search(r'<select[^>]*name="subject_org_code"', page)
        refused = browser.post("/cases/new", data={"csrf": csrf_of(page), **form, "subject_org_code": "水务"})
        assert refused.status_code == 422 and "被反映单位：没有这个名称或代码的单位" in refused.text
        assert re.search(r'id="r-subject_org_code" name="subject_org_code" value=""', refused.text)
        assert aw.snapshot() == before
        answer = browser.post("/cases/new", data={"csrf": csrf_of(page), **form,
                                                   "subject_org_code": "城关区水务局"})
        assert answer.status_code == 303, answer.text
    number = answer.headers["location"].split("/cases/", 1)[1].split("?", 1)[0]
    with Session(aw.ctx.engine) as session:
        case = session.exec(select(Case).where(Case.number == number)).one()
        subject = session.get(Subject, case.subject_id)
    assert subject is not None and subject.org_id == org_id(aw.ctx, "GS-LZ-CG-SWJ")


def test_a_dispatcher_finds_a_unit_by_part_of_its_name_and_transfers_to_it(
        browser: Any, aw: AppWorld, site: str, device: str) -> None:
    number = registered(aw.ctx)
    with signed_in_on(browser, site, "dispatcher", device) as page:
        page.goto(f"{site}/cases/{number}")
        fits(page)
        act(page, "transfer", unit="水务")  # part of a name is no unit: refused, nothing done
        box = page.locator("#action-transfer")
        expect(box.locator(".error")).to_contain_text("没有这个名称或代码的单位，请从列表中选择")
        expect(page.locator("#unit")).to_have_text("—")
        fits(page)
        picker = box.locator("[name=unit]")
        picker.fill("水务")  # what the list offers for what was typed, as the browser filters it
        offered = picker.evaluate(
            "e => [...e.list.options].filter(o => (o.value + o.label + o.text).includes(e.value))"
            ".map(o => o.text || o.label || o.value)")
        assert "城关区水务局" in offered and "城关区人民政府" not in offered
        act(page, "transfer", unit="城关区水务局")
        expect(page.locator("#unit")).to_have_text("城关区水务局")
        expect(page.locator("#state")).to_have_text("已转办")
        fits(page)
