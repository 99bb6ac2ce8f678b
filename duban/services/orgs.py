"""Offices and units: installing a hierarchy and looking orgs up."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.errors import ConfigError, OrgNotFound
from duban.models import Org
from duban.services.directory import directory_for

_FIELDS = ("name", "kind", "level", "region_name", "email", "head_email", "autonomous")
# Contacts a spec may leave out (older org files): empty means "none on file".
_CONTACTS = ("leader_email",)


def install_orgs(engine: Engine, specs: Iterable[Any]) -> int:
    """Insert or update orgs (parents before children); returns how many were written."""
    count = 0
    with Session(engine) as session:
        by_code = {o.code: o for o in session.exec(select(Org))}
        for spec in specs:
            parent = by_code.get(spec.parent_code) if spec.parent_code else None
            if spec.parent_code and parent is None:
                raise ConfigError(source="orgs", key=spec.code,
                                  message=f"parent {spec.parent_code} is not defined before it")
            org = by_code.get(spec.code) or Org(code=spec.code, name=spec.name, kind=spec.kind,
                                                level=spec.level)
            for name in _FIELDS:
                setattr(org, name, getattr(spec, name))
            for name in _CONTACTS:
                setattr(org, name, getattr(spec, name, None) or "")
            org.parent_id = parent.id if parent else None
            session.add(org)
            session.flush()
            by_code[spec.code] = org
            count += 1
        session.commit()
    directory_for(engine).refresh()
    return count


def org_by_code(session: Session, code: str) -> Org:
    org = session.exec(select(Org).where(Org.code == code)).first()
    if org is None:
        raise OrgNotFound(code)
    return org
