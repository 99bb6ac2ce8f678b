"""Subjects given by name: resolved to the org they name, however written, or flagged."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from duban.db import create_all
from duban.demo.orgs import load_orgs
from duban.services import ServiceContext
from duban.services.directory import OrgDirectory, directory_for
from duban.services.orgs import install_orgs
from duban.services.subjects import (
    AMBIGUOUS,
    BY_NAME,
    CONFLICT,
    GIVEN,
    MENTIONS,
    NO_ORG,
    UNKNOWN,
    fold,
    orgs_named,
    resolve,
)
from tests.factories import OrgRow, world


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


@pytest.fixture(scope="module")
def demo_orgs() -> OrgDirectory:
    """Gansu's demo directory, its name index built once: resolving a name reads no database."""
    engine = create_engine("sqlite://")
    create_all(engine)
    install_orgs(engine, load_orgs())
    return directory_for(engine)


def named(ctx: ServiceContext, name: str, near: str = "GS") -> list[str]:
    return [o.code for o in orgs_named(ctx.orgs, name, near=ctx.orgs.by_code(near))]


def test_folding_drops_spaces_of_every_width_and_full_width_forms() -> None:
    assert fold(" 城关区\u3000住建局\t") == fold("城关区住建局")
    assert fold("ＧＳ－ＬＺ") == "gs-lz".replace("-", "")
    assert fold("“三抓三促”") == "三抓三促"


@pytest.mark.parametrize("written", [
    "城关区住建局",
    "城关区住房和城乡建设局",
    "城关区住房城乡建设局",
    "兰州市城关区住房和城乡建设局",
    "兰州市 城关区 住建局",
    "兰州市\u3000城关区\u3000住房和城乡建设局",
    "甘肃省兰州市城关区住建局",
    "兰州城关区住建局",
    "城关住建局",
    "（城关区）住建局。",
    "GS-LZ-CG-ZJJ",
    "ＧＳ－ＬＺ－ＣＧ－ＺＪＪ",
    " gs-lz-cg-zjj ",
    "蘭州市城關區住房和城鄉建設局",
    "城關區住建局",
])
def test_a_unit_is_found_by_every_common_way_of_writing_its_name(ctx: ServiceContext, written: str) -> None:
    assert named(ctx, written) == ["GS-LZ-CG-ZJJ"]


def test_a_bare_name_means_the_unit_of_the_receiving_office_s_region(ctx: ServiceContext) -> None:
    assert named(ctx, "住建局", near="GS-LZ-CG") == ["GS-LZ-CG-ZJJ"]
    assert named(ctx, "住建局", near="GS-LZ") == ["GS-LZ-ZJJ"]
    assert named(ctx, "住建局", near="GS") == []


def test_names_of_no_org_find_nothing(ctx: ServiceContext) -> None:
    for name in ("张三", "某建设集团", "城关区", "兰州市", "局", ""):
        assert named(ctx, name) == [], name


def test_a_name_given_alone_is_resolved_and_says_how(ctx: ServiceContext) -> None:
    match = resolve(ctx.orgs, name="兰州市城关区住房和城乡建设局", kind="unit", org=None,
                    near=ctx.orgs.by_code("GS"))
    assert (match.resolution, match.org and match.org.code) == (BY_NAME, "GS-LZ-CG-ZJJ")
    assert not match.flagged


def test_a_unit_s_name_that_names_no_org_is_flagged_a_person_s_is_not(ctx: ServiceContext) -> None:
    gs = ctx.orgs.by_code("GS")
    unknown = resolve(ctx.orgs, name="城关区某某中心", kind="unit", org=None, near=gs)
    assert unknown.resolution == UNKNOWN and unknown.flagged and unknown.org is None
    person = resolve(ctx.orgs, name="张三", kind="person", org=None, near=gs)
    assert person.resolution == NO_ORG and not person.flagged


@pytest.mark.parametrize(("name", "kind", "codes"), [
    ("城关区住建局张科长", "person", {"GS-LZ-CG-ZJJ"}),
    ("兰州市城关区住房和城乡建设局工作人员", "person", {"GS-LZ-CG-ZJJ"}),
    ("城关区住建局和城关区水务局", "unit", {"GS-LZ-CG-ZJJ", "GS-LZ-CG-SWJ"}),
    ("原城关区住建局下属某公司", "enterprise", {"GS-LZ-CG-ZJJ"}),
])
def test_a_name_that_only_contains_units_names_is_flagged_and_mentions_them(
        ctx: ServiceContext, name: str, kind: str, codes: set[str]) -> None:
    match = resolve(ctx.orgs, name=name, kind=kind, org=None, near=ctx.orgs.by_code("GS"))
    assert match.resolution == MENTIONS and match.flagged and match.org is None
    assert {o.code for o in match.candidates} == codes


def test_a_code_and_a_name_that_disagree_are_flagged_and_both_avoided(ctx: ServiceContext) -> None:
    swj = ctx.orgs.by_code("GS-LZ-CG-SWJ")
    match = resolve(ctx.orgs, name="城关区住建局", kind="unit", org=swj, near=ctx.orgs.by_code("GS"))
    assert match.resolution == CONFLICT and match.flagged
    assert match.org == swj
    assert match.org_ids == {swj.id, ctx.orgs.by_code("GS-LZ-CG-ZJJ").id}
    agreeing = resolve(ctx.orgs, name="城关区水务局", kind="unit", org=swj, near=ctx.orgs.by_code("GS"))
    assert agreeing.resolution == GIVEN and not agreeing.flagged


def test_namesakes_in_two_regions_are_ambiguous_unless_one_is_in_the_receiving_region(
        ctx: ServiceContext) -> None:
    install_orgs(ctx.engine, [
        OrgRow("GS-LX-CG", "城关区办", "office", "county", "GS-LX", "城关区"),
        OrgRow("GS-LX-CG-ZJJ", "城关区住建局", "bureau", "county", "GS-LX-CG", "城关区"),
    ])
    match = resolve(ctx.orgs, name="城关区住建局", kind="unit", org=None, near=ctx.orgs.by_code("GS"))
    assert match.resolution == AMBIGUOUS and match.org is None
    assert {o.code for o in match.candidates} == {"GS-LZ-CG-ZJJ", "GS-LX-CG-ZJJ"}
    assert named(ctx, "城关区住建局", near="GS-LZ") == ["GS-LZ-CG-ZJJ"]
    assert named(ctx, "兰州市城关区住建局") == ["GS-LZ-CG-ZJJ"]


def test_an_org_added_later_is_found_without_a_restart(ctx: ServiceContext) -> None:
    assert named(ctx, "城关区人社局") == []
    install_orgs(ctx.engine, [OrgRow("GS-LZ-CG-RSJ", "城关区人社局", "bureau", "county", "GS-LZ-CG",
                                     "城关区")])
    assert named(ctx, "兰州市城关区人力资源和社会保障局") == ["GS-LZ-CG-RSJ"]


def test_what_a_name_resolved_to_is_remembered_until_the_orgs_change(ctx: ServiceContext) -> None:
    near = ctx.orgs.by_code("GS-LZ")
    first = resolve(ctx.orgs, name="城关区人社局张科长", kind="unit", org=None, near=near)
    assert first.resolution == UNKNOWN
    assert resolve(ctx.orgs, name="城关区人社局张科长", kind="unit", org=None, near=near) is first
    install_orgs(ctx.engine, [OrgRow("GS-LZ-CG-RSJ", "城关区人社局", "bureau", "county", "GS-LZ-CG",
                                     "城关区")])
    again = resolve(ctx.orgs, name="城关区人社局张科长", kind="unit", org=None, near=near)
    assert (again.resolution, [o.code for o in again.candidates]) == (MENTIONS, ["GS-LZ-CG-RSJ"])


@pytest.mark.parametrize(("written", "code"), [
    ("临夏回族自治州住房和城乡建设局", "GS-LX-ZJJ"),
    ("临夏州住建局", "GS-LX-ZJJ"),
    ("甘肃省临夏州住房城乡建设局", "GS-LX-ZJJ"),
    ("积石山保安族东乡族撒拉族自治县住房和城乡建设局", "GS-LX-JSS-ZJJ"),
    ("临夏州积石山县住建局", "GS-LX-JSS-ZJJ"),
    ("甘肃省住房和城乡建设厅", "GS-ZJT"),
    ("省住建厅", "GS-ZJT"),
    ("甘肃省发展和改革委员会", "GS-FGW"),
    ("省发改委", "GS-FGW"),
    ("兰州市城关区人民政府", "GS-LZ-CG-GOV"),
    ("城关区政府", "GS-LZ-CG-GOV"),
    ("兰州市纪律检查委员会监察委员会", "GS-LZ-JW"),
    ("城关区“三抓三促”行动领导小组办公室", "GS-LZ-CG"),
    # a department by another of its usual names
    ("城关区卫生健康局", "GS-LZ-CG-WJJ"), ("兰州市城关区卫生和健康局", "GS-LZ-CG-WJJ"),
    ("城关区教育体育局", "GS-LZ-CG-EDU"), ("城关区教体局", "GS-LZ-CG-EDU"),
    ("城关区水利局", "GS-LZ-CG-SWJ"), ("城关区人力社保局", "GS-LZ-CG-RSJ"),
])
def test_every_demo_org_of_gansu_is_found_by_its_long_and_short_names(
        demo_orgs: OrgDirectory, written: str, code: str) -> None:
    orgs = demo_orgs
    assert [o.code for o in orgs_named(orgs, written, near=orgs.by_code("GS"))] == [code]


def test_every_demo_org_is_found_by_its_own_name(demo_orgs: OrgDirectory) -> None:
    orgs = demo_orgs
    gs = orgs.by_code("GS")
    missed = [o.code for o in orgs.all() if o not in orgs_named(orgs, o.name, near=gs)]
    assert missed == []
