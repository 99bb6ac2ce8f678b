"""Limiting sign-in attempts: 5 failures for one user name from one address in 15 minutes → 429.

Why in memory, per process, and not in the database:
- it is a speed bump against guessing passwords online, not an account lock: argon2 already makes
  each guess cost real server time, and a lock stored in the database would let anyone lock
  an office out by failing on purpose from everywhere; keyed by (user name, client address), a
  stranger elsewhere cannot lock out the clerk at her desk;
- it needs no table, no migration and no write per failed attempt (a flood of failures would
  otherwise become a flood of writes on the one SQLite writer);
- what is lost is small and stated: a restart forgets recent failures, and N uvicorn workers
  allow N×5 attempts per window. `duban serve` runs one worker.

While a key is locked, even the right password is refused (429), so the answer tells a guesser
nothing. A success clears the key's failures. Memory is bounded: at most `max_keys` keys are
remembered; the oldest are forgotten first.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable

from duban.errors import AuthenticationFailed, InvalidActionInput, TooManyAttempts
from duban.models import User
from duban.services.context import ServiceContext
from duban.services.users import authenticate, change_password

MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=15)


class LoginThrottle:
    """Failed sign-ins per (user name, client address) in a sliding window."""

    def __init__(self, now: Callable[[], dt.datetime], *, max_failures: int = MAX_FAILURES,
                 window: dt.timedelta = WINDOW, max_keys: int = 10_000) -> None:
        self._now = now
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], deque[dt.datetime]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str, address: str | None) -> tuple[str, str]:
        return username.strip().casefold()[:60], address or "?"

    def _recent(self, key: tuple[str, str], now: dt.datetime) -> deque[dt.datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, username: str, address: str | None) -> None:
        """Raise TooManyAttempts (with seconds to wait) when this key has used up its tries."""
        now = self._now()
        with self._lock:
            times = self._recent(self._key(username, address), now)
            if len(times) >= self.max_failures:
                wait = (times[-self.max_failures] + self.window - now).total_seconds()
                raise TooManyAttempts(retry_after=max(1, math.ceil(wait)))

    def failed(self, username: str, address: str | None) -> None:
        now = self._now()
        key = self._key(username, address)
        with self._lock:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str | None) -> None:
        with self._lock:
            self._failures.pop(self._key(username, address), None)


def sign_in(ctx: ServiceContext, throttle: LoginThrottle, *, username: str, password: str,
            address: str | None) -> User:
    """`authenticate`, counted: refused unchecked while locked; a failure counts, a success clears."""
    throttle.check(username, address)
    try:
        user = authenticate(ctx, username, password)
    except AuthenticationFailed:
        throttle.failed(username, address)
        raise
    throttle.succeeded(username, address)
    return user


def change_password_counted(ctx: ServiceContext, throttle: LoginThrottle, *, user: User, current: str,
                            new: str, address: str | None) -> None:
    """`change_password`, with a wrong current password counted as a failed sign-in.

    Whoever holds a stolen session or token guesses the current password no faster here than
    on the sign-in form.
    """
    assert user.id is not None
    throttle.check(user.username, address)
    try:
        change_password(ctx, user.id, current=current, new=new)
    except InvalidActionInput as exc:
        if exc.field == "current_password":
            throttle.failed(user.username, address)
        raise
    throttle.succeeded(user.username, address)
