"""Demo case texts must be reproducible, fit the title column, and never show raw template slots."""

from __future__ import annotations

import copy
import re
import tomllib
from importlib import resources
from typing import Any

import pytest

from duban.config.policy import load_labels
from duban.demo import texts
from duban.demo.orgs import load_orgs
from duban.demo.texts import (
    CATEGORIES,
    CATEGORY_LABELS,
    CATEGORY_PRIORITY,
    CATEGORY_UNITS,
    MISCONDUCT,
    PRIORITY_LABELS,
    TITLE_MAX,
    CaseTextGenerator,
    parse_library,
    priority_of,
    units_for,
)
from duban.errors import ConfigError

LONGEST_COUNTY = "积石山保安族东乡族撒拉族自治县"
LONGEST_UNIT = "积石山保安族东乡族撒拉族自治县住房和城乡建设局"


def _raw() -> dict[str, Any]:
    return tomllib.loads(resources.files("duban.demo").joinpath("texts.toml").read_text("utf-8"))


def _batch(seed: int, n: int = 200) -> list[texts.CaseText]:
    generator = CaseTextGenerator(seed)
    return [
        generator.make(CATEGORIES[i % len(CATEGORIES)], region_name="城关区", unit_name="城关区住建局")
        for i in range(n)
    ]


def test_the_eleven_categories_are_there_with_an_application_label_each() -> None:
    assert set(CATEGORIES) == {
        "arrears", "water", "construction", "inaction", "business", "housing", "environment",
        "heating", "health", "schooling", "conduct",
    }
    assert all(CATEGORY_LABELS[c] for c in CATEGORIES)
    assert set(CATEGORIES) <= set(load_labels().categories)  # the case page names them


def test_only_complaints_about_officials_conduct_are_misconduct() -> None:
    assert MISCONDUCT == {"conduct"}
    generator = CaseTextGenerator(11)
    assert {generator.choose_category(misconduct=True) for _ in range(50)} == {"conduct"}
    others = {generator.choose_category(misconduct=False) for _ in range(500)}
    assert "conduct" not in others and len(others) == len(CATEGORIES) - 1


def test_a_library_without_a_misconduct_category_is_refused() -> None:
    data = copy.deepcopy(_raw())
    del data["categories"]["conduct"]
    with pytest.raises(ConfigError, match="misconduct = true"):
        parse_library(data)
    data = copy.deepcopy(_raw())
    data["categories"]["water"]["misconduct"] = "yes"
    with pytest.raises(ConfigError, match=r"categories\.water\.misconduct"):
        parse_library(data)


def test_every_unit_kind_a_category_names_exists_in_the_org_tree() -> None:
    segments = {org.code.rsplit("-", 1)[-1] for org in load_orgs()}
    for category in CATEGORIES:
        assert CATEGORY_UNITS[category], category
        assert set(CATEGORY_UNITS[category]) <= segments, category


def test_a_clinic_or_a_school_is_matched_to_its_own_kind_of_unit_never_to_housing() -> None:
    county = [o for o in load_orgs() if o.parent_code == "GS-LZ-CG"]
    assert {o.name for o in units_for("health", county)} == {"城关区卫健局", "城关区人民政府"}
    assert {o.name for o in units_for("schooling", county)} == {"城关区教育局", "城关区人民政府"}
    assert not [o for o in units_for("health", county) if o.code.endswith("-ZJJ")]


def test_enterprise_and_livelihood_categories_are_priority_and_the_rest_normal() -> None:
    assert {c for c in CATEGORIES if CATEGORY_PRIORITY[c] == "enterprise"} == {"arrears", "business"}
    assert {c for c in CATEGORIES if CATEGORY_PRIORITY[c] == "livelihood"} == {
        "water", "heating", "health", "schooling"}
    assert {c for c in CATEGORIES if CATEGORY_PRIORITY[c] == "normal"} == {
        "construction", "inaction", "housing", "environment", "conduct",
    }
    assert priority_of("water") == "livelihood"
    assert PRIORITY_LABELS["enterprise"] == "涉企突出问题"


def test_the_same_seed_gives_the_same_texts() -> None:
    assert _batch(42) == _batch(42)


def test_different_seeds_give_different_texts() -> None:
    assert _batch(1) != _batch(2)


def test_each_category_has_six_to_ten_titles_and_two_to_four_summaries() -> None:
    library = texts._packaged_library()
    for name, spec in library.categories.items():
        assert 6 <= len(spec.titles) <= 10, name
        assert 2 <= len(spec.summaries) <= 4, name


def test_every_template_renders_without_leftover_slots() -> None:
    # Walks the templates themselves, so a template the random draws skip is still checked.
    library = texts._packaged_library()
    generator = CaseTextGenerator(0)
    for name, spec in library.categories.items():
        values = generator._slot_values(spec, "城关区", "城关区住建局")
        values["title"] = "某标题"
        for template in (*spec.titles, *spec.summaries):
            rendered = template.format_map(values)
            assert not re.search(r"[{}]", rendered), (name, template)


def test_generated_texts_have_no_braces_and_name_the_subject() -> None:
    for case in _batch(7, 400):
        for text in (case.title, case.summary):
            assert "{" not in text and "}" not in text
        assert case.subject_name == "城关区住建局"
        assert case.title in case.summary  # the summary restates its own title


def test_titles_fit_in_120_characters_even_with_the_longest_names() -> None:
    generator = CaseTextGenerator(3)
    for i in range(2000):
        category = CATEGORIES[i % len(CATEGORIES)]
        case = generator.make(category, region_name=LONGEST_COUNTY, unit_name=LONGEST_UNIT)
        assert 0 < len(case.title) <= TITLE_MAX


def test_phone_numbers_are_eleven_fake_digits() -> None:
    for case in _batch(5):
        assert re.fullmatch(r"19900\d{6}", case.complainant_phone)


def test_complainant_names_are_two_to_three_chinese_characters() -> None:
    for case in _batch(9):
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", case.complainant_name)


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown case category"):
        CaseTextGenerator(0).make("plumbing", region_name="城关区", unit_name="城关区住建局")
    with pytest.raises(ValueError):
        priority_of("plumbing")


def test_choose_category_is_deterministic_and_covers_every_category() -> None:
    first, second = CaseTextGenerator(4), CaseTextGenerator(4)
    drawn = [first.choose_category() for _ in range(500)]
    assert drawn == [second.choose_category() for _ in range(500)]
    assert set(drawn) == set(CATEGORIES)


def test_category_units_name_unit_segments_that_exist_in_the_org_tree() -> None:
    segments = {org.code.rsplit("-", 1)[1] for org in load_orgs() if org.kind != "office"}
    for category, units in CATEGORY_UNITS.items():
        assert units, category
        assert set(units) <= segments, category


def test_a_template_with_an_unknown_slot_is_a_config_error() -> None:
    data = copy.deepcopy(_raw())
    data["categories"]["water"]["titles"].append("{town}停水")
    with pytest.raises(ConfigError) as error:
        parse_library(data, source="test.toml")
    assert error.value.key.startswith("categories.water.titles[")
    assert "town" in str(error.value)


def test_a_title_may_not_use_the_title_slot() -> None:
    data = copy.deepcopy(_raw())
    data["categories"]["water"]["titles"].append("{title}")
    with pytest.raises(ConfigError):
        parse_library(data, source="test.toml")


def test_a_category_with_an_unknown_priority_is_a_config_error() -> None:
    data = copy.deepcopy(_raw())
    data["categories"]["water"]["priority"] = "urgent"
    with pytest.raises(ConfigError, match="urgent"):
        parse_library(data, source="test.toml")
