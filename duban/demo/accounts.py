"""Demo accounts: one user per role, so a newcomer can sign in as each and click through.

Passwords are random per data folder (a demo reachable from a network must not share a known
password) and kept in `demo-accounts.json` there, readable by its owner only, so `duban serve`
can print them at every start.
"""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from sqlmodel import Session, col, func, select

from duban.files import private_dir
from duban.models import Case, Org, User
from duban.services.context import ServiceContext
from duban.services.users import create_user, set_password
from duban.states.definition import OPEN_STATES

FILE = "demo-accounts.json"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    org_code: str
    org_name: str


# (username, role, org code); None: the unit with the most open cases.
SPECS: list[tuple[str, str, str | None]] = [
    ("clerk", "clerk", "GS"),
    ("dispatcher", "dispatcher", "GS"),
    ("supervisor", "supervisor", "GS"),
    ("leader", "leader", "GS"),
    ("admin", "admin", "GS"),
    ("unit", "unit", None),
    ("lz-dispatcher", "dispatcher", "GS-LZ"),  # a city office: sees Lanzhou and its counties only
]


def busiest_unit(ctx: ServiceContext) -> str | None:
    """The code of the handling unit with the most open cases (so the unit demo has work)."""
    with Session(ctx.engine) as session:
        row = session.exec(
            select(Org.code, func.count()).join(Case, col(Case.unit_id) == Org.id)
            .where(col(Case.state).in_(OPEN_STATES), Org.kind != "office")
            .group_by(Org.code).order_by(func.count().desc(), Org.code).limit(1)
        ).first()
    return row[0] if row else None


def ensure_demo_accounts(ctx: ServiceContext, data_dir: Path) -> list[DemoAccount]:
    """Create the demo users that are missing (and whose org exists); return every demo account."""
    path = data_dir / FILE
    known: dict[str, str] = {}
    if path.is_file():
        known = {a["username"]: a["password"] for a in json.loads(path.read_text(encoding="utf-8"))}
    accounts = []
    with Session(ctx.engine) as session:
        users = {u.username: u for u in session.exec(select(User))}
        orgs = {o.code: o for o in session.exec(select(Org))}
    by_id = {org.id: code for code, org in orgs.items()}
    names = tomllib.loads((resources.files("duban.demo") / "figures.toml").read_text("utf-8"))["accounts"]
    for username, role, code in SPECS:
        if username in users:
            code = by_id.get(users[username].org_id)
        elif code is None:
            code = busiest_unit(ctx)
        if code is None or code not in orgs:
            continue
        password = known.get(username) or secrets.token_urlsafe(9)
        if username not in users:  # pages show the user name beside role and org
            create_user(ctx, username=username, password=password, role=role, org_code=code,
                        display_name=names.get(username, ""))
        elif username not in known:
            set_password(ctx, username, password)  # the file was lost: issue a new password
        accounts.append(DemoAccount(username, password, role, code, orgs[code].name))
    _write_private(path, json.dumps([asdict(a) for a in accounts], ensure_ascii=False, indent=1))
    return accounts


def _write_private(path: Path, text: str) -> None:
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left 0644 by an older version is narrowed too
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
