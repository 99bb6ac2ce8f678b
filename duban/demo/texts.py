"""Synthetic case texts for demo data, from the templates in ``texts.toml``.

Demo cases should read like the real ones in the seeds (arrears owed to a contractor, a road
fenced off for years, a village without water) so that people judging the demo judge the
workflow, not placeholder text. Everything is generated from one ``random.Random(seed)``, so a
demo built twice with the same seed is the same demo. Names and phone numbers are invented.
"""

from __future__ import annotations

import random
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from duban.errors import ConfigError

SOURCE = "duban/demo/texts.toml"
TITLE_MAX = 120
PHONE_DIGITS = 11
NUMBER_SLOTS = ("amount", "wages", "households", "workers", "years", "months", "days")
MONEY_SLOTS = frozenset({"amount", "wages"})
POOL_SLOTS = {"company": "companies", "project": "projects", "village": "villages", "road": "roads"}
TITLE_SLOTS = frozenset({"county", "unit", *NUMBER_SLOTS, *POOL_SLOTS})
SUMMARY_SLOTS = TITLE_SLOTS | {"title"}

_Fail = Callable[[str, str], ConfigError]


class _Coded(Protocol):
    @property
    def code(self) -> str: ...


OrgLike = TypeVar("OrgLike", bound=_Coded)


@dataclass(frozen=True, slots=True)
class CaseText:
    """What a complainant reported; subject_name is the unit complained about (for 回避)."""

    title: str
    summary: str
    category: str
    complainant_name: str
    complainant_phone: str
    subject_name: str


@dataclass(frozen=True, slots=True)
class _Category:
    label: str
    priority: str
    weight: int
    company_pool: str
    units: tuple[str, ...]
    misconduct: bool
    ranges: Mapping[str, tuple[int, int]]
    titles: tuple[str, ...]
    summaries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Library:
    phone_prefix: str
    priorities: Mapping[str, str]
    categories: Mapping[str, _Category]
    pools: Mapping[str, tuple[str, ...]]


class CaseTextGenerator:
    """Deterministic source of case texts: same seed, same sequence of calls → same texts."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._library = _packaged_library()

    def make(self, category: str, *, region_name: str, unit_name: str) -> CaseText:
        """A case of this category about unit_name (the subject), happening in region_name.

        region_name fills {county}: pass the county or city name (城关区), not 甘肃省, since titles
        put a village or road right after it.
        """
        spec = self._library.categories.get(category)
        if spec is None:
            known = ", ".join(self._library.categories)
            raise ValueError(f"unknown case category {category!r}; known: {known}")
        rng = self._rng
        title_template = rng.choice(spec.titles)
        summary_template = rng.choice(spec.summaries)
        values = self._slot_values(spec, region_name, unit_name)
        values["title"] = _clip(title_template.format_map(values), TITLE_MAX)
        pools = self._library.pools
        return CaseText(
            title=values["title"],
            summary=summary_template.format_map(values),
            category=category,
            complainant_name=rng.choice(pools["surnames"]) + rng.choice(pools["given_names"]),
            complainant_phone=self._phone(),
            subject_name=unit_name,
        )

    def choose_category(self, *, misconduct: bool | None = None) -> str:
        """A category drawn by the weights in texts.toml (arrears are the most common).

        misconduct True draws among the categories about officials' conduct (those referred to
        the discipline commission), False among the others, None among all.
        """
        categories = self._library.categories
        names = [n for n in categories if misconduct is None or categories[n].misconduct == misconduct]
        return self._rng.choices(names, weights=[categories[n].weight for n in names])[0]

    def _slot_values(self, spec: _Category, region_name: str, unit_name: str) -> dict[str, str]:
        rng = self._rng
        values = {"county": region_name, "unit": unit_name}
        for slot, pool in POOL_SLOTS.items():
            pool = spec.company_pool if slot == "company" else pool
            values[slot] = rng.choice(self._library.pools[pool])
        for slot in NUMBER_SLOTS:
            low, high = spec.ranges[slot]
            number = rng.randint(low, high)
            values[slot] = _money(number, rng) if slot in MONEY_SLOTS else str(number)
        return values

    def _phone(self) -> str:
        prefix = self._library.phone_prefix
        rest = PHONE_DIGITS - len(prefix)
        return prefix + "".join(self._rng.choice(string.digits) for _ in range(rest))


def _money(wan: int, rng: random.Random) -> str:
    """An amount in 万元 as the seeds write it: whole from 100万 up, one decimal below."""
    if wan >= 100:
        return f"{wan}万元"
    return f"{wan + rng.randint(0, 9) / 10:.1f}万元"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def _packaged_library() -> _Library:
    text = resources.files("duban.demo").joinpath("texts.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source=SOURCE, key="(file)", message=f"not valid TOML: {exc}") from exc
    return parse_library(data, source=SOURCE)


def parse_library(data: Mapping[str, Any], *, source: str = SOURCE) -> _Library:
    """Check and freeze parsed texts.toml data; ConfigError names the bad key."""

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(source=source, key=key, message=message)

    prefix = data.get("phone_prefix")
    if not isinstance(prefix, str) or not prefix.isdigit() or not 1 <= len(prefix) < PHONE_DIGITS:
        raise fail("phone_prefix", "must be a string of 1–10 digits")
    priorities = data.get("priorities")
    if not isinstance(priorities, Mapping) or not priorities:
        raise fail("priorities", "must be a table of priority code = label")
    default_ranges = _ranges(data.get("ranges"), "ranges", fail, required=True)
    pools = data.get("pools")
    if not isinstance(pools, Mapping):
        raise fail("pools", "missing")
    frozen_pools = {}
    for name in pools:
        items = pools.get(name)
        if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
            raise fail(f"pools.{name}", "must be a non-empty list of strings")
        frozen_pools[name] = tuple(items)
    for name in (*POOL_SLOTS.values(), "surnames", "given_names"):
        if name not in frozen_pools:
            raise fail(f"pools.{name}", "missing")
    categories = data.get("categories")
    if not isinstance(categories, Mapping) or not categories:
        raise fail("categories", "missing")
    parsed = {
        name: _category(name, table, priorities, default_ranges, frozen_pools, fail)
        for name, table in categories.items()
    }
    for kind in (True, False):
        if not any(c.misconduct == kind and c.weight for c in parsed.values()):
            raise fail("categories", f"needs a category with weight > 0 and misconduct = {str(kind).lower()}")
    return _Library(
        phone_prefix=prefix,
        priorities=MappingProxyType(dict(priorities)),
        categories=MappingProxyType(parsed),
        pools=MappingProxyType(frozen_pools),
    )


def _category(
    name: str,
    table: object,
    priorities: Mapping[str, str],
    default_ranges: Mapping[str, tuple[int, int]],
    pools: Mapping[str, tuple[str, ...]],
    fail: _Fail,
) -> _Category:
    where = f"categories.{name}"
    if not isinstance(table, Mapping):
        raise fail(where, "must be a table")
    priority = table.get("priority")
    if not isinstance(priority, str) or priority not in priorities:
        raise fail(f"{where}.priority", f"{priority!r} is not one of {', '.join(priorities)}")
    weight = table.get("weight", 1)
    if not isinstance(weight, int) or weight < 0:
        raise fail(f"{where}.weight", "must be a whole number ≥ 0")
    company_pool = table.get("company_pool", "companies")
    if company_pool not in pools:
        raise fail(f"{where}.company_pool", f"{company_pool!r} is not a list in [pools]")
    units = table.get("units", [])
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
        raise fail(f"{where}.units", "must be a list of unit code segments")
    misconduct = table.get("misconduct", False)
    if not isinstance(misconduct, bool):
        raise fail(f"{where}.misconduct", "must be true or false")
    ranges = {**default_ranges, **_ranges(table.get("ranges"), f"{where}.ranges", fail)}
    return _Category(
        label=str(table.get("label", name)),
        priority=priority,
        weight=weight,
        company_pool=company_pool,
        units=tuple(units),
        misconduct=misconduct,
        ranges=MappingProxyType(ranges),
        titles=_templates(table.get("titles"), f"{where}.titles", TITLE_SLOTS, fail),
        summaries=_templates(table.get("summaries"), f"{where}.summaries", SUMMARY_SLOTS, fail),
    )


def _ranges(table: object, where: str, fail: _Fail, *, required: bool = False) -> dict[str, tuple[int, int]]:
    if table is None and not required:
        return {}
    if not isinstance(table, Mapping):
        raise fail(where, "must be a table of slot = [low, high]")
    result: dict[str, tuple[int, int]] = {}
    for slot, pair in table.items():
        if slot not in NUMBER_SLOTS:
            expected = ", ".join(NUMBER_SLOTS)
            raise fail(f"{where}.{slot}", f"not a number slot; expected one of {expected}")
        if (
            not isinstance(pair, list) or len(pair) != 2
            or not all(isinstance(n, int) for n in pair) or not 0 < pair[0] <= pair[1]
        ):
            raise fail(f"{where}.{slot}", "must be [low, high], whole numbers, 0 < low ≤ high")
        result[slot] = (pair[0], pair[1])
    if required and (missing := [s for s in NUMBER_SLOTS if s not in result]):
        raise fail(where, f"missing {', '.join(missing)}")
    return result


def _templates(items: object, where: str, slots: frozenset[str], fail: _Fail) -> tuple[str, ...]:
    if not isinstance(items, list) or not items:
        raise fail(where, "must be a non-empty list of templates")
    for index, template in enumerate(items):
        if not isinstance(template, str):
            raise fail(f"{where}[{index}]", "must be a string")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as exc:
            raise fail(f"{where}[{index}]", f"bad template: {exc}") from exc
        unknown = [f for f in fields if f not in slots]
        if unknown:
            known = ", ".join(sorted(slots))
            raise fail(f"{where}[{index}]", f"unknown slot(s) {', '.join(unknown)}; known: {known}")
    return tuple(items)


def _export() -> tuple[
    tuple[str, ...], Mapping[str, str], Mapping[str, str], Mapping[str, tuple[str, ...]], Mapping[str, str]
]:
    library = _packaged_library()
    categories = library.categories
    return (
        tuple(categories),
        MappingProxyType({name: spec.priority for name, spec in categories.items()}),
        MappingProxyType({name: spec.label for name, spec in categories.items()}),
        MappingProxyType({name: spec.units for name, spec in categories.items()}),
        library.priorities,
    )


# Categories about officials' own conduct: the ones a demo refers to the discipline commission.
MISCONDUCT = frozenset(n for n, c in _packaged_library().categories.items() if c.misconduct)

# Category codes, e.g. "arrears"; which priority group each is in ("enterprise" 涉企突出问题,
# "livelihood" 民生急难问题, "normal"); its Chinese label; the code segments of units that usually
# handle it (ZJJ, SWJ…, matching duban/demo/gansu.toml); the Chinese label of each priority.
CATEGORIES, CATEGORY_PRIORITY, CATEGORY_LABELS, CATEGORY_UNITS, PRIORITY_LABELS = _export()


def units_for(category: str, candidates: Iterable[OrgLike]) -> list[OrgLike]:
    """The candidates whose line of work the category is (by code segment, texts.toml `units`)."""
    wanted = CATEGORY_UNITS.get(category, ())
    return [o for o in candidates if o.code.rsplit("-", 1)[-1] in wanted]


def priority_of(category: str) -> str:
    """The priority group of a category: "enterprise", "livelihood" or "normal"."""
    try:
        return CATEGORY_PRIORITY[category]
    except KeyError:
        raise ValueError(f"unknown case category {category!r}; known: {', '.join(CATEGORIES)}") from None
