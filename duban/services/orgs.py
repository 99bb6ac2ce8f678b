"""Offices and units: installing a hierarchy and looking orgs up."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, or_, select

from duban.errors import ConfigError, InvalidActionInput, OrgNotFound
from duban.models import Org
from duban.services.directory import directory_for
from duban.services.writetx import write_tx

_FIELDS = ("name", "kind", "level", "region_name", "email", "head_email", "autonomous")
# Contacts a spec may leave out (older org files): empty means "none on file".
_CONTACTS = ("leader_email",)


def install_orgs(engine: Engine, specs: Iterable[Any]) -> int:
    """Insert or update orgs (parents before children); returns how many were written."""
    count = 0
    with write_tx(engine) as session:
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
    directory_for(engine).refresh()
    return count


def org_by_code(session: Session, code: str) -> Org:
    org = session.exec(select(Org).where(Org.code == code)).first()
    if org is None:
        raise OrgNotFound(code)
    return org


def find_org(engine: Engine, code: str) -> Org:
    """The org with this code, read in a session of its own (OrgNotFound if there is none)."""
    with Session(engine) as session:
        return org_by_code(session, code)


def org_and_parent(engine: Engine, code: str) -> tuple[Org, str | None]:
    """The org with this code and its parent's code (None at the top)."""
    with Session(engine) as session:
        org = org_by_code(session, code)
        parent = session.get(Org, org.parent_id) if org.parent_id else None
        return org, parent.code if parent else None


def org_of(engine: Engine, org_id: int) -> Org:
    """The org with this id (OrgNotFound if there is none)."""
    with Session(engine) as session:
        org = session.get(Org, org_id)
    if org is None:
        raise OrgNotFound(str(org_id))
    return org


def find_orgs(engine: Engine, *, q: str | None = None, kind: str | None = None, level: str | None = None,
              under: str | None = None, limit: int = 200) -> list[tuple[Org, str | None]]:
    """Orgs in code order (a region's orgs sit together), each with its parent's code. `q`: in the
    name or code; `under`: that org's code and every code below it."""
    parent = aliased(Org)
    query = select(Org, parent.code).outerjoin(parent, col(Org.parent_id) == parent.id)
    if q:
        query = query.where(or_(col(Org.name).contains(q), col(Org.code).contains(q.upper())))
    if kind:
        query = query.where(Org.kind == kind)
    if level:
        query = query.where(Org.level == level)
    if under:
        query = query.where(or_(Org.code == under, col(Org.code).startswith(under + "-")))
    with Session(engine) as session:
        rows = session.exec(query.order_by(Org.code).limit(limit))
        return [(org, parent_code) for org, parent_code in rows]


_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The ladder's contacts of an org; each is named in labels.toml [text] contact_<name>.
CONTACTS = ("head_email", "leader_email")


def set_contacts(engine: Engine, code: str, **contacts: str | None) -> Org:
    """Record whom the ladder writes to for an org: `head_email` (its top official, 重要工作提示)
    and `leader_email` (the same-level government's leader in charge of it, 抄告). None keeps
    a contact, "" clears it. A contact must be a plain address and not the org's own mailbox,
    which its 催办 already reaches (such a notice would not be sent: pressure_actions)."""
    with write_tx(engine) as session:
        org = org_by_code(session, code)
        for name, address in contacts.items():
            if name not in CONTACTS:
                raise ConfigError(source="orgs", key=name,
                                  message=f"not a contact; use {', '.join(CONTACTS)}")
            if address is None:
                continue
            address = address.strip()
            if address and not _ADDRESS.match(address):
                raise InvalidActionInput(action="set_contacts", field=name, kind="email_format",
                                         message="must be a plain e-mail address, name@domain")
            if address and address == org.email:
                raise InvalidActionInput(action="set_contacts", field=name, kind="own_mailbox",
                                         message="is the org's own mailbox: a contact is a person of its own")
            setattr(org, name, address)
        session.add(org)
    return org
