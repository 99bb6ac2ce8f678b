"""Sessions that end: signing out, a new password or a disabled account ends every one at once.

The database is the authority. Ending a user's sessions, in one transaction, bumps
`users.session_epoch` (a page cookie carries the epoch it was issued under: pages read the user
on every request anyway, so an older cookie is refused by the next page) and deletes the user's
bearer tokens.

The API keeps who owns a token in memory for a few seconds per worker process (api/deps.py
`TokenCache`: a query per request cost about a fifth of the throughput). So that a revocation
reaches every worker at once, it is announced through a *revocation stamp*: a file that grows by
one byte per revocation, beside the SQLite database (or in the data folder for PostgreSQL). Each
request `stat`s it (about a microsecond, no query, no thread hand-over); a size other than the
one seen before empties that worker's cache, and the next request asks the database. The size
only ever grows, so two revocations in the same clock tick cannot look like one (an mtime could).
A process that does not share the file (the CLI on another host) is still obeyed within the
cache's few seconds.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from duban.files import FILE_MODE, private_dir, sqlite_file
from duban.models import ApiToken, User
from duban.services.writetx import write_tx

STAMP_SUFFIX = ".sessions"


class RevocationStamp:
    """A counter every process on this host can read cheaply: the size of a file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._local = 0  # an in-memory database lives in one process: a counter is enough
        self._lock = threading.Lock()

    def current(self) -> int:
        if self.path is None:
            return self._local
        try:
            return os.stat(self.path).st_size
        except FileNotFoundError:
            return 0

    def bump(self) -> None:
        if self.path is None:
            with self._lock:
                self._local += 1
            return
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, b".")  # O_APPEND: each writer's byte lands, none overwrites another
        finally:
            os.close(fd)


_STAMPS: dict[str, RevocationStamp] = {}
_STAMPS_GUARD = threading.Lock()


def stamp_path(engine: Engine) -> Path | None:
    db = sqlite_file(engine)
    if db is not None:
        return Path(f"{db}{STAMP_SUFFIX}")
    if engine.dialect.name == "sqlite":
        return None  # in memory
    from duban.config.settings import get_settings

    server = engine.url.render_as_string(hide_password=True)
    name = hashlib.sha256(server.encode("utf-8")).hexdigest()[:16]
    return get_settings().data_dir / "sessions" / f"{name}{STAMP_SUFFIX}"


def stamp_for(engine: Engine) -> RevocationStamp:
    """The revocation stamp of the database behind `engine` (one object per database and process)."""
    key = engine.url.render_as_string(hide_password=True)
    with _STAMPS_GUARD:
        if key not in _STAMPS:
            _STAMPS[key] = RevocationStamp(stamp_path(engine))
        return _STAMPS[key]


def end_sessions_in(session: Session, user_id: int) -> None:
    """Within the caller's transaction: every cookie and token of the user stops working.

    Call `announce(engine)` after the commit.
    """
    session.execute(update(User).where(col(User.id) == user_id)
                    .values(session_epoch=col(User.session_epoch) + 1))
    session.execute(delete(ApiToken).where(col(ApiToken.user_id) == user_id))


def announce(engine: Engine) -> None:
    """Tell every worker process that tokens were revoked (after the commit)."""
    stamp_for(engine).bump()


def end_sessions(engine: Engine, user_id: int) -> None:
    """Sign the user out everywhere: every page session and bearer token, in every worker, now."""
    with write_tx(engine) as session:
        end_sessions_in(session, user_id)
    announce(engine)
