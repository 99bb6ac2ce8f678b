"""Who did what, as a person reads it: a user's display name rather than their user name.

Events, reports, reviews and callbacks record the acting user's name (`yz-gov`); pages show the
display name an administrator gave them (`王科员`), and the engine as "系统". The names are one
small query for every user, kept for a short while per process: a page shows dozens of names, and
an administrator's change shows within seconds (at once in the process that made it).
"""

from __future__ import annotations

import threading
import time

from duban.config.policy import Labels
from duban.services.context import ENGINE_ACTOR, ServiceContext
from duban.services.users import display_names

TTL = 30.0  # seconds a process keeps the names


class PeopleNames:
    """User name → display name, reread every TTL seconds or after `forget`."""

    def __init__(self, ctx: ServiceContext, *, ttl: float = TTL) -> None:
        self._ctx = ctx
        self._ttl = ttl
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._read_at = -ttl - 1.0

    def forget(self) -> None:
        """Read the names afresh on the next page (after an administrator changed one)."""
        self._read_at = -self._ttl - 1.0

    def _current(self) -> dict[str, str]:
        now = time.monotonic()
        if now - self._read_at > self._ttl:
            with self._lock:
                if now - self._read_at > self._ttl:
                    self._names = display_names(self._ctx)
                    self._read_at = now
        return self._names

    def name(self, username: str | None, role: str | None = None) -> str:
        """The display name of `username`; the engine is "系统"; a user without one keeps their
        user name (and a name that is no user, e.g. the public pages' 网上反映人, is shown as it is)."""
        if not username:
            return ""
        if role == ENGINE_ACTOR.role or (role is None and username == ENGINE_ACTOR.name):
            return self._engine_label()
        return self._current().get(username, username)

    def _engine_label(self) -> str:
        labels: Labels = self._ctx.labels
        return labels.of("roles", ENGINE_ACTOR.role)
