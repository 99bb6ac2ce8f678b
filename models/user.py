"""People who sign in, and the API tokens they hold. Passwords and tokens are stored hashed only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(60), unique=True, nullable=False, index=True))
    display_name: str = Field(default="", max_length=60)
    # clerk | dispatcher | unit | supervisor | leader | admin (labels.toml [roles])
    role: str = Field(max_length=16)
    # A unit user's unit; an office user's office. Scope follows from it (services/scope.py).
    org_id: int = Field(foreign_key="orgs.id", index=True)
    password_hash: str = Field(max_length=200)  # argon2id, with its parameters
    active: bool = True
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    # Bumped when the user signs out, changes password or is disabled: a page cookie carries the
    # epoch it was issued under and is worthless after (duban.services.sessions).
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The number of the last event of the account record naming this user (migration 0024,
    # duban.services.accountaudit): a later event of theirs deleted shows, as a case's head does.
    account_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class ApiToken(SQLModel, table=True):
    """A bearer token: only its SHA-256 is kept, so a copy of the database opens no doors."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False, index=True))
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
