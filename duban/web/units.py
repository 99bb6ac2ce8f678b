"""The unit picker of the case page: one `<datalist>` every action form's unit field names with
`list=`, and what a person typed there read back to a unit's code.

The province has hundreds of units. A `<select>` per form repeated the whole list in each of a
page's action forms; a datalist is sent once per page, needs no script (the pages have none) and
lets the browser search it as the person types. The options are escaped once per region and org
generation, not on every page.

A datalist does not hold the person to its options: what comes back may be a code, a name, or
the "名称（代码）" a person copied from elsewhere. `resolve` reads each to a code and refuses,
naming the field in Chinese, anything that names no unit or more than one.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from markupsafe import Markup, escape

from duban.errors import InvalidActionInput
from duban.services.directory import OrgDirectory, OrgInfo
from duban.services.scope import in_region

LIST_ID = "unit-list"
AVOID_NOTE = "——被反映对象，回避"
# "名称（代码）" or "名称(代码)" once NFKC has made the brackets half-width.
_CODE = re.compile(r"^[A-Z0-9-]+$")
_NAME_AND_CODE = re.compile(r"^(?P<name>.*?)\s*\((?P<code>[A-Za-z0-9-]+)\)$")


def _key(text: str) -> str:
    """How typed text is compared: NFKC (full-width letters, digits and brackets made plain), no
    spaces, codes case-insensitive."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


@dataclass(frozen=True)
class _Region:
    """A region's options, escaped once: each unit's plain and its avoided (disabled) form."""

    ids: tuple[int, ...]
    plain: dict[int, str]
    avoided: dict[int, str]


def _option(org: OrgInfo, *, avoided: bool) -> str:
    if avoided:
        return f'<option value="{escape(org.code)}" disabled>{escape(org.name)}{AVOID_NOTE}</option>'
    return f'<option value="{escape(org.code)}">{escape(org.name)}</option>'


class UnitPicker:
    """The datalist of a viewer's region and the reading of what was typed into it.

    Rebuilt when the org directory reloads (its generation grows), so a unit added or renamed
    shows up without a restart.
    """

    def __init__(self, orgs: OrgDirectory) -> None:
        self._orgs = orgs
        self._lock = threading.Lock()
        self._generation = -1
        self._regions: dict[str | None, _Region] = {}
        self._codes: dict[str, OrgInfo] = {}
        self._names: dict[str, list[OrgInfo]] = {}

    def _fresh(self) -> None:
        generation = self._orgs.generation()
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            everyone = sorted(self._orgs.all(), key=lambda o: o.code)
            names: dict[str, list[OrgInfo]] = {}
            for org in everyone:
                names.setdefault(_key(org.name), []).append(org)
            self._codes = {_key(o.code): o for o in everyone}
            self._names = names
            self._regions = {}
            self._generation = generation

    def _region(self, region: str | None) -> _Region:
        self._fresh()
        found = self._regions.get(region)
        if found is None:
            orgs = [o for o in self._codes.values() if not region or in_region(o.code, region)]
            found = _Region(ids=tuple(o.id for o in orgs),
                            plain={o.id: _option(o, avoided=False) for o in orgs},
                            avoided={o.id: _option(o, avoided=True) for o in orgs})
            self._regions[region] = found
        return found

    def options(self, region: str | None, *, avoid: Collection[int] = ()) -> Markup:
        """The `<option>`s of the region's units in code order; those to avoid disabled and marked."""
        held = self._region(region)
        avoid = set(avoid)
        return Markup("".join(held.avoided[i] if i in avoid else held.plain[i] for i in held.ids))

    def coded(self, code: str) -> OrgInfo | None:
        """The org of exactly this code, or None. Unlike the directory's `by_code`, a code that
        is not there does not reload the orgs (a search filter is typed by anyone signed in)."""
        self._fresh()
        found = self._codes.get(_key(code))
        return found if found is not None and found.code == code else None

    def resolve(self, typed: str, *, action: str, region: str | None, field: str = "unit") -> str:
        """The code of the unit `typed` names: a code, a name, or "名称（代码）".

        A name two units share is read within the viewer's region; if it is still not one unit,
        or names none, InvalidActionInput (422, in Chinese) asks the person to pick from the list.
        Whatever is shaped like a code is passed on as typed: whether there is such a unit, and
        whether it may take the case, is the service's answer (OrgNotFound, a 422 too).
        """
        self._fresh()
        key = _key(typed)
        pair = _NAME_AND_CODE.match(key)
        if pair and pair.group("code") in self._codes:
            return self._codes[pair.group("code")].code
        if key in self._codes:
            return self._codes[key].code
        if _CODE.match(key):  # shaped like a code: the service answers for it (unknown_org)
            return typed.strip()
        named = self._names.get(key, [])
        if len(named) > 1 and region:
            named = [o for o in named if in_region(o.code, region)] or named
        if len(named) == 1:
            return named[0].code
        if named:
            raise InvalidActionInput(action=action, field=field, kind="ambiguous_org",
                                     message="more than one unit has this name; pick one from the list")
        raise InvalidActionInput(action=action, field=field, kind="unknown_unit",
                                 message="no unit has this name or code; pick one from the list")
