"""Gansu's real organisation tree for demo data, expanded from ``gansu.toml``.

The TOML lists regions, not orgs: every region of a level gets the same set of orgs (an office,
a government, some bureaus), so the file stays short enough for a person to check against the
official list of divisions. This module does the expansion and refuses data that would make a
broken tree (duplicate codes, orphans, levels out of order, codes that do not nest).

Shape of the result, parents always before children:

    GS                      office      province  (no parent)
    GS-GOV, GS-JW, GS-FGW…  government / commission / department, parent GS
    GS-LZ                   office      city      parent GS
    GS-LZ-GOV, GS-LZ-JW, GS-LZ-ZJJ…     parent GS-LZ
    GS-LZ-CG                office      county    parent GS-LZ
    GS-LZ-CG-GOV, GS-LZ-CG-ZJJ…         parent GS-LZ-CG
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal, NamedTuple

from duban.errors import ConfigError

Kind = Literal["office", "government", "department", "bureau", "commission"]
Level = Literal["province", "city", "county"]

KINDS: tuple[Kind, ...] = ("office", "government", "department", "bureau", "commission")
LEVELS: tuple[Level, ...] = ("province", "city", "county")
SOURCE = "duban/demo/gansu.toml"

_CODE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
_SEGMENT = re.compile(r"^[A-Z0-9]+$")
_EMAIL = re.compile(r"^[a-z0-9.-]+@[a-z0-9.-]+\.[a-z]+$")


@dataclass(frozen=True, slots=True)
class OrgSpec:
    """One office or handling unit, as demo data seeds it."""

    code: str
    name: str
    kind: Kind
    level: Level
    parent_code: str | None
    region_name: str
    email: str
    head_email: str | None  # its top official (主要负责同志): 重要工作提示
    autonomous: bool
    # The same-level government's leader in charge of it (同级政府分管领导): 抄告.
    leader_email: str | None = None

    @property
    def region_code(self) -> str:
        """The code of the region the org belongs to (its office's code)."""
        if self.kind == "office" or self.parent_code is None:
            return self.code
        return self.parent_code


def load_orgs() -> list[OrgSpec]:
    """All demo orgs of Gansu, parents before children (a fresh list each call)."""
    return list(_load_packaged())


@cache
def _load_packaged() -> tuple[OrgSpec, ...]:
    text = resources.files("duban.demo").joinpath("gansu.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source=SOURCE, key="(file)", message=f"not valid TOML: {exc}") from exc
    return tuple(parse_orgs(data, source=SOURCE))


def parse_orgs(data: Mapping[str, Any], *, source: str = SOURCE) -> list[OrgSpec]:
    """Expand parsed ``gansu.toml`` data into validated orgs; ConfigError names the bad key."""
    orgs = list(_Expander(data, source).expand())
    validate_orgs(orgs, source=source)
    return orgs


def validate_orgs(orgs: Sequence[OrgSpec], *, source: str = SOURCE) -> None:
    """Check the tree: unique nesting codes, known parents listed first, levels one step apart."""
    seen: dict[str, OrgSpec] = {}
    roots = 0
    for org in orgs:
        def bad(message: str, org: OrgSpec = org) -> ConfigError:
            return ConfigError(source=source, key=org.code, message=message)

        if not _CODE.match(org.code):
            raise bad("code must be upper-case ASCII segments joined by '-'")
        if org.code in seen:
            raise bad(f"duplicate code (also {seen[org.code].name})")
        if org.kind not in KINDS:
            raise bad(f"unknown kind {org.kind!r}; expected one of {', '.join(KINDS)}")
        if org.level not in LEVELS:
            raise bad(f"unknown level {org.level!r}; expected one of {', '.join(LEVELS)}")
        if not _EMAIL.match(org.email):
            raise bad(f"email {org.email!r} is not a plain ASCII address")
        if org.head_email is not None and not _EMAIL.match(org.head_email):
            raise bad(f"head_email {org.head_email!r} is not a plain ASCII address")
        if org.leader_email is not None and not _EMAIL.match(org.leader_email):
            raise bad(f"leader_email {org.leader_email!r} is not a plain ASCII address")
        if org.parent_code is None:
            roots += 1
            if org.kind != "office" or org.level != "province" or roots > 1:
                raise bad("only the province office may have no parent")
        else:
            parent = seen.get(org.parent_code)
            if parent is None:
                raise bad(f"parent {org.parent_code} is unknown or listed after its child")
            if parent.kind != "office":
                raise bad(f"parent {org.parent_code} is a {parent.kind}, not an office")
            expected = _level_below(parent.level) if org.kind == "office" else parent.level
            if org.level != expected:
                raise bad(f"level {org.level} does not fit under {parent.code} ({parent.level})")
            if not org.code.startswith(parent.code + "-") or "-" in org.code[len(parent.code) + 1 :]:
                raise bad(f"code must be {parent.code}-<SEGMENT> (one segment below its parent)")
        seen[org.code] = org
    if orgs and roots == 0:
        raise ConfigError(source=source, key="province", message="no province office")
    _check_prefixes(seen, source)


def _level_below(level: Level) -> Level | None:
    index = LEVELS.index(level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


def _check_prefixes(codes: Mapping[str, OrgSpec], source: str) -> None:
    """A code may only be a string prefix of codes inside it, so startswith() tests are safe."""
    for code in codes:
        for end in range(1, len(code)):
            if code[end] != "-" and code[:end] in codes:
                raise ConfigError(
                    source=source,
                    key=code,
                    message=f"{code[:end]} is a string prefix of it but not its region; rename one",
                )


class _Region(NamedTuple):
    """What every org of one region shares."""

    level: Level
    name: str
    autonomous: bool


class _Expander:
    """Walks the TOML tables and yields orgs; every missing key becomes a ConfigError."""

    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        self.data = data
        self.source = source
        self.domain = str(self._get(data, "email_domain", "email_domain"))

    def expand(self) -> Iterator[OrgSpec]:
        province = self._table(self.data, "province", "province")
        yield from self._province(province)
        city_defaults = self._table(self.data, "city_defaults", "city_defaults")
        county_defaults = self._table(self.data, "county_defaults", "county_defaults")
        cities = self._get(self.data, "cities", "cities")
        if not isinstance(cities, list):
            raise self._error("cities", "must be an array of tables ([[cities]])")
        root = self._segment(province, "province")
        for index, city in enumerate(cities):
            where = f"cities[{index}]"
            city = self._as_table(city, where)
            code = f"{root}-{self._segment(city, where)}"
            yield from self._region(city, where, code, root, "city", city_defaults, inherited=False)
            counties = self._get(city, "counties", where)
            if not isinstance(counties, list):
                raise self._error(f"{where}.counties", "must be a list (empty if the city has none)")
            city_autonomous = bool(city.get("autonomous", False))
            for number, county in enumerate(counties):
                county_where = f"{where}.counties[{number}]"
                county = self._as_table(county, county_where)
                county_code = f"{code}-{self._segment(county, county_where)}"
                yield from self._region(
                    county, county_where, county_code, code, "county", county_defaults,
                    inherited=city_autonomous,
                )

    def _province(self, province: Mapping[str, Any]) -> Iterator[OrgSpec]:
        code = self._segment(province, "province")
        names = self._names(province, "province", {})
        here = _Region("province", names["name"], bool(province.get("autonomous", False)))
        yield self._org(code, self._get(province, "office", "province"), "office", None, here)
        yield self._org(
            f"{code}-GOV", self._get(province, "government", "province"), "government", code, here
        )
        yield self._org(
            f"{code}-JW", self._get(province, "commission", "province"), "commission", code, here
        )
        departments = self._get(province, "departments", "province")
        if not isinstance(departments, list):
            raise self._error("province.departments", "must be a list")
        for index, item in enumerate(departments):
            where = f"province.departments[{index}]"
            item = self._as_table(item, where)
            yield self._org(
                f"{code}-{self._segment(item, where)}", self._get(item, "name", where),
                "department", code, here,
            )

    def _region(
        self,
        region: Mapping[str, Any],
        where: str,
        code: str,
        parent: str,
        level: Level,
        defaults: Mapping[str, Any],
        *,
        inherited: bool,
    ) -> Iterator[OrgSpec]:
        names = self._names(region, where, defaults)
        here = _Region(level, names["name"], inherited or bool(region.get("autonomous", False)))

        def render(key: str, template: object) -> str:
            if not isinstance(template, str):
                raise self._error(f"{where}.{key}", "must be a string")
            try:
                return template.format(**names)
            except (KeyError, IndexError, ValueError) as exc:
                raise self._error(f"{where}.{key}", f"bad name template {template!r}: {exc}") from exc

        def pick(key: str) -> object:
            return region[key] if key in region else defaults.get(key)

        yield self._org(code, render("office", pick("office")), "office", parent, here)
        yield self._org(
            f"{code}-GOV", render("government", pick("government")), "government", code, here
        )
        if pick("commission") is not None:
            yield self._org(
                f"{code}-JW", render("commission", pick("commission")), "commission", code, here
            )
        bureaus = pick("bureaus") or []
        if not isinstance(bureaus, list):
            raise self._error(f"{where}.bureaus", "must be a list")
        for index, bureau in enumerate(bureaus):
            bureau_where = f"{where}.bureaus[{index}]"
            bureau = self._as_table(bureau, bureau_where)
            yield self._org(
                f"{code}-{self._segment(bureau, bureau_where)}",
                render(f"bureaus[{index}].name", self._get(bureau, "name", bureau_where)),
                "bureau", code, here,
            )

    def _org(self, code: str, name: object, kind: Kind, parent: str | None, here: _Region) -> OrgSpec:
        if not isinstance(name, str) or not name.strip():
            raise self._error(code, "name must be a non-empty string")
        local = code.lower()
        # Every org but the commission has a top official on file; a handling unit also has the
        # same-level government's leader in charge of it (its deputy head for a government).
        head = f"{local}.head@{self.domain}" if kind != "commission" else None
        leader = None
        if kind == "government":
            leader = f"{local}.deputy@{self.domain}"
        elif kind in ("bureau", "department") and parent is not None:
            leader = f"{parent.lower()}-gov.fg-{code.rsplit('-', 1)[-1].lower()}@{self.domain}"
        return OrgSpec(
            code=code, name=name, kind=kind, level=here.level, parent_code=parent,
            region_name=here.name, email=f"{local}@{self.domain}", head_email=head,
            autonomous=here.autonomous, leader_email=leader,
        )

    def _names(self, region: Mapping[str, Any], where: str, defaults: Mapping[str, Any]) -> dict[str, str]:
        name = self._get(region, "name", where)
        short = region.get("short", name)
        if not isinstance(name, str) or not isinstance(short, str):
            raise self._error(f"{where}.name", "name and short must be strings")
        return {"name": name, "short": short}

    def _segment(self, table: Mapping[str, Any], where: str) -> str:
        segment = self._get(table, "code", where)
        if not isinstance(segment, str) or not _SEGMENT.match(segment):
            raise self._error(f"{where}.code", f"{segment!r} is not an upper-case ASCII segment")
        return segment

    def _get(self, table: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in table:
            path = where if where == key or where.endswith("." + key) else f"{where}.{key}"
            raise self._error(path, "missing")
        return table[key]

    def _table(self, table: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        return self._as_table(self._get(table, key, where), where)

    def _as_table(self, value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self._error(where, "must be a table")
        return value

    def _error(self, key: str, message: str) -> ConfigError:
        return ConfigError(source=self.source, key=key, message=message)
