"""Who signs in: users with argon2 password hashes, bearer tokens kept only as SHA-256, the secret key.

A user maps to a service `Actor(name, role, org_id)`; what it may see and do follows from that
alone (policy `[roles]`, services/scope.py), so the API and the pages cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from duban.config.settings import Settings
from duban.errors import AuthenticationFailed, InvalidActionInput
from duban.models import ApiToken, User
from duban.services.context import Actor, ServiceContext
from duban.services.orgs import org_by_code

ROLES = ("clerk", "dispatcher", "unit", "supervisor", "leader", "admin")
TOKEN_LIFETIME = dt.timedelta(days=7)
TOKEN_PREFIX = "dbn_"
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")


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


def _bad(field: str, message: str) -> InvalidActionInput:
    return InvalidActionInput(action="user", field=field, message=message)


def create_user(ctx: ServiceContext, *, username: str, password: str, role: str, org_code: str,
                display_name: str = "") -> User:
    """Add a user. Unit users belong to a handling unit, everyone else to an office."""
    if not _USERNAME.match(username):
        raise _bad("username", "1–60 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if role not in ROLES:
        raise _bad("role", f"must be one of {', '.join(ROLES)}")
    _check_password(password)
    with Session(ctx.engine, expire_on_commit=False) as session:
        org = org_by_code(session, org_code)
        if (role == "unit") == (org.kind == "office"):
            want = "a handling unit, not an office" if role == "unit" else "an office (办公室)"
            raise _bad("org_code", f"a {role} user belongs to {want}; {org.code} is a {org.kind}")
        if session.exec(select(User).where(User.username == username)).first() is not None:
            raise _bad("username", "is taken")
        assert org.id is not None
        user = User(username=username, display_name=display_name[:60], role=role, org_id=org.id,
                    password_hash=_hasher().hash(password), created_at=ctx.now())
        session.add(user)
        session.commit()
        return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password) > 200:
        raise _bad("password", f"{MIN_PASSWORD}–200 characters")


def set_password(ctx: ServiceContext, username: str, password: str) -> None:
    _check_password(password)
    with Session(ctx.engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise _bad("username", "no user has this name")
        user.password_hash = _hasher().hash(password)
        session.add(user)
        session.commit()


def authenticate(ctx: ServiceContext, username: str, password: str) -> User:
    """The active user with this name and password; AuthenticationFailed otherwise."""
    with Session(ctx.engine, expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        stored = user.password_hash if user is not None and user.active else _dummy_hash()
        try:
            _hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            raise AuthenticationFailed() from None
        if user is None or not user.active:
            raise AuthenticationFailed()
        if _hasher().check_needs_rehash(user.password_hash):
            user.password_hash = _hasher().hash(password)
            session.add(user)
            session.commit()
        return user


def get_user(ctx: ServiceContext, user_id: int) -> User | None:
    with Session(ctx.engine, expire_on_commit=False) as session:
        user = session.get(User, user_id)
        return user if user is not None and user.active else None


def list_users(ctx: ServiceContext) -> list[User]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(User).order_by(User.username)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(ctx: ServiceContext, user: User) -> tuple[str, dt.datetime]:
    """A new bearer token for the user and when it expires; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = ctx.now()
    expires = now + TOKEN_LIFETIME
    assert user.id is not None
    with Session(ctx.engine) as session:
        session.add(ApiToken(user_id=user.id, token_hash=_digest(token), created_at=now,
                             expires_at=expires))
        session.commit()
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
    with Session(ctx.engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
        if row is not None:
            session.delete(row)
            session.commit()


def secret_key(settings: Settings) -> str:
    """DUBAN_SECRET_KEY, else a key generated once into the data folder (readable by its owner only)."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_dir / "secret_key"
    if path.is_file():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key)
    return key
