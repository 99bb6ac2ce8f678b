"""Who signs in: users with argon2 password hashes, bearer tokens kept only as SHA-256, the secret key.

A user maps to a service `Actor(name, role, org_id)`; what it may see and do follows from that
alone (policy `[roles]`, services/scope.py), so the API and the pages cannot drift apart.
A new password, signing out and disabling end every session of the user (services/sessions.py);
passwords follow policy `[sign_in]` (services/passwords.py). Every change an administrator (or the
CLI's operator) makes to an account, and a user's own new password, is an event of the keyed
account record in the same transaction (services/accountaudit.py); the log line stays for the log.
What an administrator on the pages may change (their region's accounts, never their own role, org,
password or state, never the last administrator) is services/accountreach.py's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from duban.config.settings import Settings
from duban.db import one_statement
from duban.errors import AccountDisabled, AuthenticationFailed, InvalidActionInput, ItemNotFound, OrgNotFound
from duban.files import private_dir
from duban.models import ApiToken, Org, User
from duban.services.accountaudit import org_codes, record
from duban.services.accountnames import check_username, clean_display_name
from duban.services.accountreach import (
    Reach,
    check_not_self,
    check_org,
    holds,
    keep_an_administrator,
    reaches,
)
from duban.services.context import Actor, ServiceContext
from duban.services.driver import Prepared
from duban.services.orgs import org_by_code
from duban.services.passwords import check_password
from duban.services.sessions import announce, end_sessions, end_sessions_in
from duban.services.writetx import write_tx

ROLES = ("clerk", "dispatcher", "unit", "supervisor", "leader", "admin")
TOKEN_LIFETIME = dt.timedelta(days=7)
TOKEN_PREFIX = "dbn_"
# Who changed which account, as the CLI and the admin pages do it (both call this module).
log = logging.getLogger("duban.users")


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    # Verified against when the user does not exist, so a wrong name costs as long as a wrong
    # password and response times do not reveal which user names exist.
    return _hasher().hash(secrets.token_hex(16))


def actor_of(user: User) -> Actor:
    return Actor(name=user.username, role=user.role, org_id=user.org_id)


def _record(ctx: ServiceContext, session: Session, user: User, action: str, *, by: str, by_role: str,
            data: dict[str, Any] | None = None) -> None:
    record(session, user, action=action, actor=by or "(operator)", actor_role=by_role, at=ctx.now(),
           data=data)


def _bad(field: str, message: str, kind: str = "") -> InvalidActionInput:
    return InvalidActionInput(action="user", field=field, message=message, kind=kind)


def _role_and_org(session: Session, role: str, org_code: str) -> Org:
    """The org a user of `role` may belong to: a handling unit for role unit, an office otherwise."""
    if role not in ROLES:
        raise _bad("role", f"must be one of {', '.join(ROLES)}", "user_role")
    try:
        org = org_by_code(session, org_code)
    except OrgNotFound:
        raise _bad("org_code", f"no org has the code {org_code!r}", "unknown_org") from None
    if (role == "unit") == (org.kind == "office"):
        want = "a handling unit, not an office" if role == "unit" else "an office (办公室)"
        raise _bad("org_code", f"a {role} user belongs to {want}; {org.code} is a {org.kind}",
                   "user_unit_org" if role == "unit" else "user_office_org")
    return org


def create_user(ctx: ServiceContext, *, username: str, password: str, role: str, org_code: str,
                display_name: str = "", by: str = "", by_role: str = "operator",
                reach: Reach | None = None) -> User:
    """Add a user. Unit users belong to a handling unit, everyone else to an office.

    `by`, `by_role`: who adds them (an administrator's user name and role; the CLI's operator),
    for the account record and the log; so in every function here that changes an account.
    `reach`: an administrator on the pages, whose region bounds the accounts they may add and
    change (services/accountreach.py); None for the CLI's operator. So in every function here.
    """
    check_username(username)
    name = clean_display_name(display_name)
    if role not in ROLES:
        raise _bad("role", f"must be one of {', '.join(ROLES)}", "user_role")
    _check_password(ctx, password, username=username)
    with write_tx(ctx.engine, keys=ctx.audit_keys) as session:
        org = _role_and_org(session, role, org_code)
        check_org(reach, org.code)
        taken = select(User).where(func.lower(User.username) == username.lower())  # "Wang" is "wang"
        if session.exec(taken).first() is not None:
            raise _bad("username", "is taken (user names differ by more than case)", "username_taken")
        assert org.id is not None
        user = User(username=username, display_name=name, role=role, org_id=org.id,
                    password_hash=_hasher().hash(password), created_at=ctx.now())
        session.add(user)
        session.flush()
        _record(ctx, session, user, "account_add", by=by, by_role=by_role,
                data={"role": role, "org": org.code, "display_name": user.display_name})
    log.info("user %s added (role %s, org %s) by %s", username, role, org.code, by or "(unnamed)")
    return user


def update_user(ctx: ServiceContext, username: str, *, role: str, org_code: str, display_name: str,
                by: str = "", by_role: str = "operator", reach: Reach | None = None) -> bool:
    """Change a user's display name, role and org. A new role or org ends every session and token
    of the user at once (what they may see and do follows from both). Whether anything changed."""
    name = clean_display_name(display_name)
    with write_tx(ctx.engine, keys=ctx.audit_keys) as session:
        user = _user_named(ctx, session, username, reach)
        org = _role_and_org(session, role, org_code)
        check_org(reach, org.code)
        moved = (user.role, user.org_id) != (role, org.id)
        if moved:
            check_not_self(reach, user, field="role", kind="change_self")
        changed = moved or user.display_name != name
        assert org.id is not None and user.id is not None
        before = {"role": user.role, "org_id": user.org_id, "display_name": user.display_name}
        user.role, user.org_id, user.display_name = role, org.id, name
        session.add(user)
        session.flush()
        if moved:
            end_sessions_in(session, user.id)
        if changed:
            _record(ctx, session, user, "account_change", by=by, by_role=by_role,
                    data=_changes(session, before, user) | {"sessions_ended": moved})
        if moved and user.active:
            keep_an_administrator(ctx, session, role_before=str(before["role"]), field="role")
    if moved:
        announce(ctx.engine)
    if changed:
        log.info("user %s changed (role %s, org %s, name %r) by %s", username, role, org_code, name,
                 by or "(unnamed)")
    return changed


def _changes(session: Session, before: dict[str, Any], user: User) -> dict[str, Any]:
    """What an update changed, each as [before, after]; orgs by code."""
    changes: dict[str, Any] = {}
    if before["role"] != user.role:
        changes["role"] = [before["role"], user.role]
    if before["org_id"] != user.org_id:
        codes = org_codes(session.connection(), before["org_id"], user.org_id)
        changes["org"] = [codes.get(before["org_id"], str(before["org_id"])), codes.get(user.org_id, "")]
    if before["display_name"] != user.display_name:
        changes["display_name"] = [before["display_name"], user.display_name]
    return changes


def display_names(ctx: ServiceContext) -> dict[str, str]:
    """Every user's display name by user name (those without one left out): what pages show for
    the person an event, a report or a review names by user name."""
    with ctx.engine.connect() as connection:
        rows = connection.execute(sa_select(_USERS.c.username, _USERS.c.display_name)
                                  .where(_USERS.c.display_name != "")).all()
    return {username: name for username, name in rows}


def _check_password(ctx: ServiceContext, password: str, *, username: str = "",
                    field: str = "password") -> None:
    from duban.config.settings import get_settings

    check_password(ctx.policy.sign_in, password, username=username, field=field,
                   override_dir=get_settings().override_dir)


def _user_named(ctx: ServiceContext, session: Session, username: str, reach: Reach | None = None) -> User:
    """The account to change; one outside the administrator's reach is not there for them."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not holds(ctx, reach, user):
        raise _bad("username", "no user has this name; `duban user list` shows who there is", "user_unknown")
    return user


def set_password(ctx: ServiceContext, username: str, password: str, *, by: str = "",
                 by_role: str = "operator", reach: Reach | None = None) -> None:
    """An administrator's new password for a user: every session of that user ends at once."""
    _check_password(ctx, password, username=username)
    with write_tx(ctx.engine, keys=ctx.audit_keys) as session:
        user = _user_named(ctx, session, username, reach)
        check_not_self(reach, user, field="password", kind="password_self")
        user.password_hash = _hasher().hash(password)
        session.add(user)
        session.flush()
        assert user.id is not None
        end_sessions_in(session, user.id)
        _record(ctx, session, user, "account_password", by=by, by_role=by_role, data={"sessions_ended": True})
    announce(ctx.engine)
    log.info("password of user %s set by %s", username, by or "(unnamed)")


def change_password(ctx: ServiceContext, user_id: int, *, current: str, new: str) -> None:
    """A user's own new password, given the current one; every session of theirs ends, this one too.

    InvalidActionInput on `current_password` when it is wrong; WeakPassword on `new_password`.
    """
    with write_tx(ctx.engine, keys=ctx.audit_keys) as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise AuthenticationFailed()
        try:
            _hasher().verify(user.password_hash, current)
        except (VerificationError, InvalidHashError):
            raise InvalidActionInput(action="password", field="current_password", kind="password_wrong",
                                     message="the current password is wrong") from None
        _check_password(ctx, new, username=user.username, field="new_password")
        user.password_hash = _hasher().hash(new)
        session.add(user)
        session.flush()
        end_sessions_in(session, user_id)
        _record(ctx, session, user, "account_password_own", by=user.username, by_role=user.role,
                data={"sessions_ended": True})
    announce(ctx.engine)


def set_active(ctx: ServiceContext, username: str, active: bool, *, by: str = "",
               by_role: str = "operator", reach: Reach | None = None) -> bool:
    """Disable (every session ends at once, signing in is refused) or enable a user.

    Whether anything changed.
    """
    with write_tx(ctx.engine, keys=ctx.audit_keys) as session:
        user = _user_named(ctx, session, username, reach)
        if not active:
            check_not_self(reach, user, field="active", kind="disable_self")
        changed = user.active != active
        user.active = active
        session.add(user)
        session.flush()
        assert user.id is not None
        if not active:
            end_sessions_in(session, user.id)
        if changed:
            _record(ctx, session, user, "account_enable" if active else "account_disable", by=by,
                    by_role=by_role, data={"sessions_ended": not active})
            if not active:
                keep_an_administrator(ctx, session, role_before=user.role, field="active")
    if not active:
        announce(ctx.engine)
    if changed:
        log.info("user %s %s by %s", username, "enabled" if active else "disabled", by or "(unnamed)")
    return changed


def sign_out(ctx: ServiceContext, user_id: int) -> None:
    """Signing out ends every page session and token of the user, in every worker process."""
    end_sessions(ctx.engine, user_id)


def sign_out_user(ctx: ServiceContext, username: str, *, by: str = "", by_role: str = "operator",
                  reach: Reach | None = None) -> None:
    """An administrator ends every page session and token of a user (a lost phone, a shared
    screen): recorded, unlike a user's own signing out."""
    with write_tx(ctx.engine, keys=ctx.audit_keys) as session:
        user = _user_named(ctx, session, username, reach)
        assert user.id is not None
        end_sessions_in(session, user.id)
        _record(ctx, session, user, "account_sign_out", by=by, by_role=by_role, data={"sessions_ended": True})
    announce(ctx.engine)
    log.info("sessions of user %s ended by %s", username, by or "(unnamed)")


def authenticate(ctx: ServiceContext, username: str, password: str) -> User:
    """The active user with this name and password; AuthenticationFailed otherwise.

    A disabled account is AccountDisabled, said only after the right password.
    """
    with Session(ctx.engine, expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        stored = user.password_hash if user is not None else _dummy_hash()
        try:
            _hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            raise AuthenticationFailed() from None
        if user is None:
            raise AuthenticationFailed()
        if not user.active:
            raise AccountDisabled(user.username)
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
        with write_tx(ctx.engine) as tx:
            tx.connection().execute(update(User).where(col(User.id) == user.id)
                                    .values(password_hash=user.password_hash))
    return user


def get_user(ctx: ServiceContext, user_id: int, *, epoch: int | None = None) -> User | None:
    """The active user, if `epoch` (a page session's) is still theirs: None once it has ended."""
    with Session(ctx.engine, expire_on_commit=False) as session:
        user = session.get(User, user_id)
        if user is None or not user.active or (epoch is not None and epoch != user.session_epoch):
            return None
        return user


_USERS: Any = User.__table__  # type: ignore[attr-defined]
_USER_ROW = Prepared(sa_select(_USERS).where(_USERS.c.id == bindparam("id")))


def signed_in_user(ctx: ServiceContext, user_id: int, *, epoch: int) -> User | None:
    """`get_user` for every page a session shows: the same answer (None once signed out, disabled
    or the epoch moved on), read as one row on a bare connection, without an ORM session."""
    with one_statement(ctx.engine).connect() as connection:
        rows = _USER_ROW.rows(connection, {"id": user_id})
    if not rows or not rows[0]["active"] or rows[0]["session_epoch"] != epoch:
        return None
    return User.model_construct(**rows[0])  # a detached copy to read, like get_user's


def user_named(ctx: ServiceContext, username: str, *, reach: Reach | None = None) -> User:
    """The account called `username` (ItemNotFound otherwise, or outside `reach`), detached for reading."""
    with Session(ctx.engine, expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.username == username[:60])).first()
    if user is None or not holds(ctx, reach, user):
        raise ItemNotFound("user", username[:60])
    return user


def users_with_orgs(ctx: ServiceContext, *, reach: Reach | None = None) -> list[tuple[User, str | None]]:
    """Every user by name (within `reach`), with their org's code, in one query (None for an org
    no longer there)."""
    query = select(User, Org.code).outerjoin(Org, col(Org.id) == User.org_id).order_by(User.username)
    with Session(ctx.engine) as session:
        return [(user, code) for user, code in session.exec(query) if reaches(reach, code)]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(ctx: ServiceContext, user: User) -> tuple[str, dt.datetime]:
    """A new bearer token for the user and when it expires; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = ctx.now()
    expires = now + TOKEN_LIFETIME
    assert user.id is not None
    with write_tx(ctx.engine) as tx:
        tx.add(ApiToken(user_id=user.id, token_hash=_digest(token), created_at=now,
                        expires_at=expires))
    return token, expires


def user_for_token(ctx: ServiceContext, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with Session(ctx.engine, expire_on_commit=False) as session:
        row = session.exec(select(ApiToken, User).join(User, col(ApiToken.user_id) == User.id)
                           .where(ApiToken.token_hash == _digest(token))).first()
        if row is None:
            return None
        api_token, user = row
        if api_token.expires_at <= ctx.now() or not user.active:
            return None
        return user


def revoke_token(ctx: ServiceContext, token: str) -> None:
    with write_tx(ctx.engine) as tx:
        tx.connection().execute(delete(ApiToken).where(col(ApiToken.token_hash) == _digest(token)))


def secret_key(settings: Settings) -> str:
    """DUBAN_SECRET_KEY, else a key generated once into the data folder (readable by its owner only)."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_dir / "secret_key"
    if path.is_file():
        return path.read_text(encoding="ascii").strip()
    private_dir(path.parent)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key)
    return key
