"""The demo org tree must match Gansu's real divisions and nest cleanly, or demo routing lies."""

from __future__ import annotations

import copy
import re
import tomllib
from collections import Counter
from dataclasses import replace
from importlib import resources
from typing import Any

import pytest

from duban.demo.orgs import OrgSpec, load_orgs, parse_orgs, validate_orgs
from duban.errors import ConfigError


def _raw() -> dict[str, Any]:
    return tomllib.loads(resources.files("duban.demo").joinpath("gansu.toml").read_text("utf-8"))


def _by_code() -> dict[str, OrgSpec]:
    return {org.code: org for org in load_orgs()}


def _offices(level: str) -> list[OrgSpec]:
    return [org for org in load_orgs() if org.kind == "office" and org.level == level]


def test_there_are_fifteen_city_level_regions_and_eighty_six_counties() -> None:
    assert len(_offices("province")) == 1
    assert len(_offices("city")) == 15
    assert len(_offices("county")) == 86


def test_the_counts_by_kind_and_level_are_stable() -> None:
    counts = Counter((org.kind, org.level) for org in load_orgs())
    assert counts == {
        ("office", "province"): 1,
        ("government", "province"): 1,
        ("commission", "province"): 1,
        ("department", "province"): 14,
        ("office", "city"): 15,
        ("government", "city"): 15,
        ("commission", "city"): 15,
        ("bureau", "city"): 105,
        ("office", "county"): 86,
        ("government", "county"): 86,
        ("bureau", "county"): 430,
    }


def test_every_city_has_an_office_a_government_a_commission_and_seven_bureaus() -> None:
    orgs = load_orgs()
    for office in _offices("city"):
        units = Counter(org.kind for org in orgs if org.parent_code == office.code and org.kind != "office")
        assert units == {"government": 1, "commission": 1, "bureau": 7}, office.code


def test_every_county_has_an_office_a_government_and_five_bureaus() -> None:
    orgs = load_orgs()
    for office in _offices("county"):
        units = Counter(org.kind for org in orgs if org.parent_code == office.code)
        assert units == {"government": 1, "bureau": 5}, office.code


def test_counties_per_city_match_the_official_divisions() -> None:
    per_city = Counter(str(org.parent_code) for org in _offices("county"))
    names = {org.code: org.region_name for org in _offices("city")}
    assert {names[code]: n for code, n in per_city.items()} == {
        "兰州市": 8, "金昌市": 2, "白银市": 5, "天水市": 7, "武威市": 4, "张掖市": 6, "平凉市": 7,
        "酒泉市": 7, "庆阳市": 8, "定西市": 7, "陇南市": 9, "临夏回族自治州": 8, "甘南藏族自治州": 8,
    }
    assert "GS-JYG" in names and "GS-XQ" in names  # 嘉峪关 and 兰州新区 have no counties


def test_the_regions_in_the_seeds_are_where_they_belong() -> None:
    orgs = _by_code()
    assert orgs["GS-LZ-CG"].name == "城关区“三抓三促”行动领导小组办公室"
    assert orgs["GS-LZ-AN"].region_name == "安宁区"
    assert orgs["GS-PL-LT"].region_name == "灵台县"
    assert orgs["GS-TS-GG"].region_name == "甘谷县"
    assert orgs["GS-DX-LX"].region_name == "陇西县"
    assert orgs["GS"].name == "省“三抓三促”行动领导小组办公室"
    assert orgs["GS-JW"].name == "省纪委监委"
    assert orgs["GS-FGW"].name == "省发展改革委"


def test_codes_are_unique_ascii_and_carry_their_region_as_prefix() -> None:
    orgs = load_orgs()
    codes = [org.code for org in orgs]
    assert len(codes) == len(set(codes))
    for org in orgs:
        assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)*", org.code)
        if org.parent_code is not None:
            assert org.code.startswith(org.parent_code + "-")
        assert org.code.startswith(org.region_code)


def test_no_code_is_a_string_prefix_of_a_code_outside_it() -> None:
    codes = [org.code for org in load_orgs()]
    for a in codes:
        for b in codes:
            if a != b and b.startswith(a):
                assert b.startswith(a + "-"), (a, b)


def test_parents_come_before_children() -> None:
    seen: set[str] = set()
    for org in load_orgs():
        assert org.parent_code is None or org.parent_code in seen, org.code
        seen.add(org.code)


def test_only_the_province_office_has_no_parent_and_every_parent_is_an_office() -> None:
    orgs = _by_code()
    assert [org.code for org in orgs.values() if org.parent_code is None] == ["GS"]
    assert all(orgs[org.parent_code].kind == "office" for org in orgs.values() if org.parent_code)


def test_offices_report_to_the_office_one_level_up() -> None:
    orgs = _by_code()
    above = {"city": "province", "county": "city"}
    for org in orgs.values():
        if org.kind == "office" and org.parent_code:
            assert orgs[org.parent_code].level == above[org.level]
        elif org.parent_code:
            assert orgs[org.parent_code].level == org.level


def test_linxia_gannan_and_the_autonomous_counties_are_flagged() -> None:
    flagged = {org.region_name for org in load_orgs() if org.autonomous}
    for name in (
        "临夏回族自治州", "甘南藏族自治州", "张家川回族自治县", "天祝藏族自治县", "肃南裕固族自治县",
        "肃北蒙古族自治县", "阿克塞哈萨克族自治县", "东乡族自治县", "积石山保安族东乡族撒拉族自治县",
        "康乐县", "合作市",  # inside an autonomous prefecture
    ):
        assert name in flagged, name
    for name in ("甘肃省", "兰州市", "城关区", "天水市", "灵台县"):
        assert name not in flagged, name


def test_every_org_but_a_commission_has_a_head_and_handling_units_a_supervising_leader() -> None:
    for org in load_orgs():
        assert org.email == f"{org.code.lower()}@duban.example"
        assert org.email.isascii()
        if org.kind == "commission":
            assert org.head_email is None and org.leader_email is None
            continue
        assert org.head_email and org.head_email.isascii() and org.head_email != org.email
        if org.kind == "office":
            assert org.leader_email is None
        else:  # 抄告 goes to a leader distinct from the unit and its head
            assert org.leader_email and org.leader_email not in (org.email, org.head_email)


def test_load_orgs_hands_out_a_fresh_list() -> None:
    first = load_orgs()
    first.clear()
    assert load_orgs()


def test_a_duplicate_county_code_is_a_config_error() -> None:
    data = _raw()
    counties = data["cities"][0]["counties"]
    counties.append(copy.deepcopy(counties[0]))
    with pytest.raises(ConfigError) as error:
        parse_orgs(data, source="test.toml")
    assert error.value.key == "GS-LZ-CG"
    assert "duplicate" in str(error.value)


def test_a_county_code_that_prefixes_a_bureau_code_is_a_config_error() -> None:
    data = _raw()
    data["cities"][0]["counties"][0]["code"] = "ZJ"  # GS-LZ-ZJ would prefix GS-LZ-ZJJ
    with pytest.raises(ConfigError, match="string prefix"):
        parse_orgs(data, source="test.toml")


def test_a_city_without_a_name_is_a_config_error_naming_the_key() -> None:
    data = _raw()
    del data["cities"][2]["name"]
    with pytest.raises(ConfigError) as error:
        parse_orgs(data, source="test.toml")
    assert error.value.key == "cities[2].name"
    assert error.value.source == "test.toml"


def test_a_child_listed_before_its_parent_is_refused() -> None:
    orgs = load_orgs()
    with pytest.raises(ConfigError, match="unknown or listed after"):
        validate_orgs([orgs[0], orgs[-1], *orgs[1:-1]])


def test_a_unit_at_the_wrong_level_is_refused() -> None:
    orgs = load_orgs()
    index = next(i for i, org in enumerate(orgs) if org.code == "GS-LZ-CG-ZJJ")
    orgs[index] = replace(orgs[index], level="city")
    with pytest.raises(ConfigError, match="level city does not fit"):
        validate_orgs(orgs)
