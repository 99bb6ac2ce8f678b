"""The org hierarchy held in memory: routing and calendars read it on every action.

Orgs change rarely (an office is renamed or a unit added); a lookup that misses reloads once, and
`refresh()` is there for whoever edits the hierarchy.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.errors import OrgNotFound
from duban.models import Org


@dataclass(frozen=True)
class OrgInfo:
    id: int
    code: str
    name: str
    kind: str
    level: str
    parent_id: int | None
    region_name: str = ""  # the region's full name (兰州市, 临夏回族自治州): names are resolved by it


class OrgDirectory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._by_id: dict[int, OrgInfo] = {}
        self._by_code: dict[str, OrgInfo] = {}
        self._children: dict[int, list[OrgInfo]] = {}
        self._generation = 0

    def refresh(self) -> None:
        with Session(self._engine) as session:
            rows = [OrgInfo(o.id, o.code, o.name, o.kind, o.level, o.parent_id, o.region_name)  # type: ignore[arg-type]
                    for o in session.exec(select(Org))]
        children: dict[int, list[OrgInfo]] = {}
        for row in rows:
            if row.parent_id is not None:
                children.setdefault(row.parent_id, []).append(row)
        with self._lock:
            self._by_id = {r.id: r for r in rows}
            self._by_code = {r.code: r for r in rows}
            self._children = children
            self._generation += 1

    def generation(self) -> int:
        """Grows at every reload, so whatever is derived from the orgs knows when to rebuild."""
        if not self._by_id:
            self.refresh()
        return self._generation

    def all(self) -> list[OrgInfo]:
        if not self._by_id:
            self.refresh()
        return list(self._by_id.values())

    def by_id(self, org_id: int) -> OrgInfo:
        found = self._by_id.get(org_id)
        if found is None:
            self.refresh()
            found = self._by_id.get(org_id)
        if found is None:
            raise OrgNotFound(org_id)
        return found

    def by_code(self, code: str) -> OrgInfo:
        found = self._by_code.get(code)
        if found is None:
            self.refresh()
            found = self._by_code.get(code)
        if found is None:
            raise OrgNotFound(code)
        return found

    def parent(self, org: OrgInfo) -> OrgInfo | None:
        return self.by_id(org.parent_id) if org.parent_id is not None else None

    def children(self, org: OrgInfo) -> list[OrgInfo]:
        if not self._by_id:
            self.refresh()
        return list(self._children.get(org.id, []))


# Held weakly: a directory lives as long as a context holds it. A strong registry kept every
# engine it ever saw alive, each with its statement cache: a test suite's thousand databases
# grew the heap until a full garbage collection stopped a live server for seconds.
_directories: weakref.WeakValueDictionary[str, OrgDirectory] = weakref.WeakValueDictionary()
_registry_lock = threading.Lock()


def directory_for(engine: Engine) -> OrgDirectory:
    """The one directory of a database (by URL), shared by every context and scope check on it
    while any holds it."""
    key = engine.url.render_as_string(hide_password=False)
    with _registry_lock:
        found = _directories.get(key)
        if found is None:
            found = _directories[key] = OrgDirectory(engine)
        return found
