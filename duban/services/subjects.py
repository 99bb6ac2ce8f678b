"""Who a complaint is about: a subject given by code or by name, resolved to the org it names.

The registration form's org select is optional, so many subjects arrive as a name only, written
the way people write it ("兰州市城关区住房和城乡建设局", "城关区 住建局", full-width, with spaces).
Avoidance (duban.services.routing) must still know which org that is. A name is folded and its
written forms replaced by canonical ones (config/orgnames.toml), and every org is indexed under
the names it goes by: its own name, with the regions above it in front (兰州市城关区住建局,
甘肃兰州城关区住建局), and its region written short or long (临夏州 / 临夏回族自治州). A bare
name without its region ("住建局") is looked up in the receiving office's region, then above it.

A name that names no org, or several, or only contains org names ("城关区住建局张科长") is flagged
for the dispatcher (`Subject.resolution`); avoidance then keeps away from every org the name could
mean or mentions.
"""

from __future__ import annotations

import re
import threading
import tomllib
import unicodedata
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import combinations, product

from pydantic import BaseModel, Field, ValidationError

from duban.errors import ConfigError
from duban.services.directory import OrgDirectory, OrgInfo
from duban.simplified import simplified

# How a subject's org was found (subjects.resolution). The last three are flagged for the
# dispatcher: shown on the case and counted (`FLAGGED`).
GIVEN = "code"  # the org was picked by code (the form's select, the import's column)
BY_NAME = "name"  # a name only, naming exactly one org
NO_ORG = ""  # nothing to resolve: no name and no code, or a person or enterprise by name
AMBIGUOUS = "ambiguous"  # the name fits several orgs
MENTIONS = "mentions"  # the name is no org's but contains one's ("城关区住建局张科长")
UNKNOWN = "unknown"  # a unit's name that fits no org
CONFLICT = "conflict"  # the code and the name name different orgs
FLAGGED = (AMBIGUOUS, MENTIONS, UNKNOWN, CONFLICT)
# A name found inside a longer one counts from this many characters (folded, canonical): shorter
# ones ("省办") are too often part of other words.
MIN_MENTION = 4
_RESOLVED_MAX = 100_000  # names remembered per index (`resolve`, `orgs_mentioned`), then forgotten

_SOURCE = "duban/config/orgnames.toml"
_PUNCT = re.compile(r"[\W_]+")
_CODE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")


class _Regions(BaseModel):
    peoples: list[str] = Field(default_factory=list)
    autonomy: str = "自治"
    level_words: list[str] = Field(default_factory=list)
    min_stem: int = Field(default=2, ge=1)


class NameRules(BaseModel):
    """config/orgnames.toml: canonical forms of what units are called, and regions' short names."""

    forms: dict[str, list[str]] = Field(default_factory=dict)
    regions: _Regions = Field(default_factory=_Regions)
    source: str = ""


@cache
def load_rules() -> NameRules:
    text = (resources.files("duban.config") / "orgnames.toml").read_text(encoding="utf-8")
    try:
        return NameRules.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(source=_SOURCE, key="(file)", message=str(exc).splitlines()[0]) from exc


def fold(text: str) -> str:
    """Full-width to half-width, simplified characters (蘭州 as 兰州), lower case, without spaces
    (ideographic ones too) or punctuation."""
    return _PUNCT.sub("", simplified(unicodedata.normalize("NFKC", text)).lower())


class _Canon:
    """Folds a name and replaces each written form by its canonical one, in one pass."""

    def __init__(self, rules: NameRules) -> None:
        self.to_canonical: dict[str, str] = {}
        for canonical, written in rules.forms.items():
            # The canonical form maps to itself, so that a shorter form inside it (纪委 in 纪委监委)
            # never rewrites it: the longest match wins.
            for form in (canonical, *written):
                self.to_canonical[fold(form)] = fold(canonical)
        forms = sorted(self.to_canonical, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, forms))) if forms else None

    def __call__(self, text: str) -> str:
        folded = fold(text)
        if self._pattern is None:
            return folded
        return self._pattern.sub(lambda m: self.to_canonical[m.group(0)], folded)


def region_variants(rules: NameRules, canon: _Canon, region_name: str) -> list[str]:
    """The ways a region is written: 临夏回族自治州, 临夏州, 临夏 (longest first)."""
    names = {canon(region_name)}
    short = region_name
    if rules.regions.autonomy in short:
        for people in rules.regions.peoples:
            short = short.replace(people, "")
        short = short.replace(rules.regions.autonomy, "")
        names.add(canon(short))
    for name in list(names):
        for word in rules.regions.level_words:
            stem = name.removesuffix(word)
            if stem != name and len(stem) >= rules.regions.min_stem:
                names.add(stem)
    return sorted((n for n in names if n), key=len, reverse=True)


@dataclass
class _Index:
    exact: dict[str, set[int]] = field(default_factory=dict)  # full names, with or without regions
    local: dict[tuple[int, str], set[int]] = field(default_factory=dict)  # (region office, bare name)
    codes: dict[str, int] = field(default_factory=dict)
    longest: int = 0
    # What `resolve` found for (name, kind, org id, near id): a ledger names the same subjects
    # again and again. Built with the index, so it goes when the orgs are reloaded.
    resolved: dict[tuple[str, str, int | None, int | None], SubjectMatch] = field(default_factory=dict)
    mentioned: dict[str, tuple[OrgInfo, ...]] = field(default_factory=dict)  # `orgs_mentioned`'s

    def add(self, key: str, org_id: int) -> None:
        if key:
            self.exact.setdefault(key, set()).add(org_id)
            self.longest = max(self.longest, len(key))


def _region_office(orgs: OrgDirectory, org: OrgInfo) -> OrgInfo | None:
    """The office of the region an org belongs to (itself for an office)."""
    current: OrgInfo | None = org
    while current is not None and current.kind != "office":
        current = orgs.parent(current)
    return current


def _offices_above(orgs: OrgDirectory, office: OrgInfo) -> list[OrgInfo]:
    """The region offices above `office`, top first."""
    chain: list[OrgInfo] = []
    current = orgs.parent(office)
    while current is not None:
        if current.kind == "office":
            chain.append(current)
        current = orgs.parent(current)
    return chain[::-1]


def _build(orgs: OrgDirectory, rules: NameRules) -> tuple[_Index, _Canon]:
    canon = _Canon(rules)
    index = _Index()
    variants: dict[int, list[str]] = {}

    def region_names(office: OrgInfo) -> list[str]:
        if office.id not in variants:
            variants[office.id] = region_variants(rules, canon, office.region_name or office.name)
        return variants[office.id]

    for org in orgs.all():
        index.codes[org.code] = org.id
        name = canon(org.name)
        home = _region_office(orgs, org)
        bases = {name}
        if home is not None:
            # The name with its own region written every way, and bare (省住建厅 → 住建厅).
            own = region_names(home) + [canon(w) for w in _LEVEL_PREFIX.get(home.level, ())]
            for prefix in own:
                if name.startswith(prefix) and len(name) > len(prefix):
                    rest = name[len(prefix):]
                    index.local.setdefault((home.id, rest), set()).add(org.id)
                    bases.update(v + rest for v in region_names(home))
        above = _offices_above(orgs, home) if home is not None else []
        for base in bases:
            index.add(base, org.id)
            for size in range(1, len(above) + 1):
                for chain in combinations(above, size):
                    for parts in product(*(region_names(o) for o in chain)):
                        index.add("".join(parts) + base, org.id)
    return index, canon


# An org named after its level rather than its region (省发展改革委, 市住建局).
_LEVEL_PREFIX = {"province": ("省",), "city": ("市", "州"), "county": ("县", "区")}

_indexes: weakref.WeakKeyDictionary[OrgDirectory, tuple[int, _Index, _Canon]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _index_of(orgs: OrgDirectory) -> tuple[_Index, _Canon]:
    generation = orgs.generation()
    with _lock:
        found = _indexes.get(orgs)
        if found is not None and found[0] == generation:
            return found[1], found[2]
    index, canon = _build(orgs, load_rules())
    with _lock:
        _indexes[orgs] = (generation, index, canon)
    return index, canon


def build_index(orgs: OrgDirectory) -> None:
    """Index the orgs' names now (before the importer forks its helper, which then shares it)."""
    _index_of(orgs)


@dataclass(frozen=True)
class SubjectMatch:
    """What a subject names: `org` when it is one org, every org it may mean in `candidates`."""

    resolution: str
    org: OrgInfo | None = None
    candidates: tuple[OrgInfo, ...] = ()

    @property
    def org_ids(self) -> set[int]:
        """Every org the subject may be: avoidance keeps a case away from all of them."""
        ids = {o.id for o in self.candidates}
        if self.org is not None:
            ids.add(self.org.id)
        return ids

    @property
    def flagged(self) -> bool:
        return self.resolution in FLAGGED


def orgs_named(orgs: OrgDirectory, name: str, *, near: OrgInfo | None = None,
               settle: bool = True) -> list[OrgInfo]:
    """The orgs a name may mean; `near` (the receiving office) places a bare name ("住建局").

    With `settle`, of several namesakes the one in `near`'s region is taken; avoidance does not
    settle (it keeps away from every namesake).
    """
    index, canon = _index_of(orgs)
    stripped = unicodedata.normalize("NFKC", name).strip().upper()
    if _CODE.match(stripped) and stripped in index.codes:
        return [orgs.by_id(index.codes[stripped])]
    key = canon(name)
    if not key:
        return []
    found = index.exact.get(key, set())
    if not found and near is not None:
        for office in _nearest_first(orgs, near):
            found = index.local.get((office.id, key), set())
            if found:
                break
    candidates = sorted((orgs.by_id(i) for i in found), key=lambda o: o.code)
    if settle and len(candidates) > 1 and near is not None:
        # Of several namesakes, the one in the receiving office's region is meant.
        home = _region_office(orgs, near) or near
        local = [o for o in candidates if o.code == home.code or o.code.startswith(home.code + "-")]
        if len(local) == 1:
            return local
    return candidates


def orgs_mentioned(orgs: OrgDirectory, name: str) -> list[OrgInfo]:
    """The orgs whose full name appears inside `name` ("兰州市城关区住建局张科长", "城关区住建局和
    城关区水务局"): a person of a unit, or several units, complained about in one line."""
    index, canon = _index_of(orgs)
    known = index.mentioned.get(name)
    if known is not None:
        return list(known)
    key = canon(name)
    found: set[int] = set()
    for start in range(len(key)):
        for end in range(start + MIN_MENTION, min(len(key), start + index.longest) + 1):
            found |= index.exact.get(key[start:end], set())
    mentioned = sorted((orgs.by_id(i) for i in found), key=lambda o: o.code)
    if len(index.mentioned) >= _RESOLVED_MAX:
        index.mentioned.clear()
    index.mentioned[name] = tuple(mentioned)
    return mentioned


def _nearest_first(orgs: OrgDirectory, office: OrgInfo) -> Iterator[OrgInfo]:
    home = _region_office(orgs, office)
    if home is None:
        return
    yield home
    yield from reversed(_offices_above(orgs, home))


def resolve(orgs: OrgDirectory, *, name: str, kind: str, org: OrgInfo | None,
            near: OrgInfo | None) -> SubjectMatch:
    """Resolve a subject as registered: the org picked by code, else the org its name names.

    A person or an enterprise named is resolved too when the name is an org's (a clerk may pick
    the wrong kind); a name that names no org is flagged unless it is a person's or an enterprise's.
    What a name came to is kept with the orgs' index (a `SubjectMatch` is immutable).
    """
    resolved = _index_of(orgs)[0].resolved
    key = (name, kind, org.id if org is not None else None, near.id if near is not None else None)
    found = resolved.get(key)
    if found is None:
        if len(resolved) >= _RESOLVED_MAX:
            resolved.clear()
        found = resolved[key] = _resolve(orgs, name=name, kind=kind, org=org, near=near)
    return found


def _resolve(orgs: OrgDirectory, *, name: str, kind: str, org: OrgInfo | None,
             near: OrgInfo | None) -> SubjectMatch:
    named = orgs_named(orgs, name, near=near) if name.strip() else []
    if org is not None:
        named = named or (orgs_mentioned(orgs, name) if name.strip() else [])
        if named and org not in named:
            return SubjectMatch(CONFLICT, org, tuple(named))
        return SubjectMatch(GIVEN, org, (org,))
    if len(named) == 1:
        return SubjectMatch(BY_NAME, named[0], tuple(named))
    if named:
        return SubjectMatch(AMBIGUOUS, None, tuple(named))
    mentioned = orgs_mentioned(orgs, name) if name.strip() else []
    if mentioned:
        return SubjectMatch(MENTIONS, None, tuple(mentioned))
    if name.strip() and kind in ("unit", "other"):
        return SubjectMatch(UNKNOWN)
    return SubjectMatch(NO_ORG)


def avoided_orgs(orgs: OrgDirectory, subjects: Iterable[tuple[str, int | None]], *,
                 near: OrgInfo | None) -> set[int]:
    """Every org a case must be kept from: its subjects' orgs and every org their names may mean.

    The name is resolved again here, not only at registration, so an alias added since (or a
    subject flagged as ambiguous) still keeps the case away from each org it could be.
    """
    avoided: set[int] = set()
    for name, org_id in subjects:
        if org_id is not None:
            avoided.add(org_id)
        if name:
            avoided.update(o.id for o in orgs_named(orgs, name, near=near, settle=False))
            avoided.update(o.id for o in orgs_mentioned(orgs, name))
    return avoided
