"""What routes depend on: the service context, and who is calling (from a bearer token).

FastAPI runs a plain `def` dependency in the thread pool, one hand-over per dependency per
request; handing a request to a worker thread and back cost more CPU than the token lookup itself
(30% of an action's server time with five of them). So what only reads the request is `async`
and stays on the event loop, and who owns a token is remembered for a few seconds
(`TokenCache`): a request whose token was seen just before costs no query and no hand-over.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from duban.errors import AuthenticationFailed
from duban.models import User
from duban.services.context import Actor, ServiceContext
from duban.services.sessions import RevocationStamp, stamp_for
from duban.services.users import actor_of, user_for_token

# auto_error=False: a missing token becomes our own 401 with a Chinese message, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="a token from POST /api/auth/login")


class TokenCache:
    """Who a bearer token belongs to, remembered for `ttl` on the service clock.

    The database stays the authority. Every revocation (sign-out, new password, disabled user:
    services/sessions.py) bumps the database's revocation stamp, which `seen()` reads on every
    request (one `stat`); a stamp other than the one this cache was filled under empties it,
    so a revoked token is refused by the next request in every worker process. Anything the stamp
    does not announce (a token row deleted by hand, a process on another host) is picked up when
    the entry is `ttl` old. Kept by the token's SHA-256, as the database keeps it; only tokens
    that were valid are kept, at most `size` of them (the least recently used go first).
    """

    def __init__(self, *, ttl: dt.timedelta = dt.timedelta(seconds=5), size: int = 4096,
                 stamp: RevocationStamp | None = None) -> None:
        self.ttl = ttl
        self.size = size
        self.stamp = stamp
        self._mark = stamp.current() if stamp is not None else 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[dt.datetime, User]] = OrderedDict()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def seen(self) -> int:
        """The revocation stamp now; the cache is emptied if it moved since it was last read."""
        if self.stamp is None:
            return 0
        mark = self.stamp.current()
        if mark != self._mark:
            with self._lock:
                if mark != self._mark:
                    self._entries.clear()
                    self._mark = mark
        return mark

    def get(self, token: str, now: dt.datetime) -> User | None:
        """The owner if remembered (call `seen()` first, once per request: it reads the stamp)."""
        key = self._key(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            seen, user = entry
            if not seen <= now < seen + self.ttl:  # the clock may be moved (tests, demo clock)
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return user

    def put(self, token: str, user: User, now: dt.datetime, *, mark: int | None = None) -> None:
        """Remember the owner, unless a revocation came since `mark` (read before the lookup)."""
        with self._lock:
            if mark is not None and mark != self._mark:
                return  # the lookup may have read the token just before it was revoked
            self._entries[self._key(token)] = (now, user)
            self._entries.move_to_end(self._key(token))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, token: str) -> None:
        with self._lock:
            self._entries.pop(self._key(token), None)


def token_cache(request: Request) -> TokenCache:
    """The app's token cache, made on first use."""
    state = request.app.state
    cache = getattr(state, "token_cache", None)
    if cache is None:
        cache = state.token_cache = TokenCache(stamp=stamp_for(state.ctx.engine))
    return cache  # type: ignore[no-any-return]


async def get_ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


async def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    if credentials is None:
        raise AuthenticationFailed("sign in first: send 'Authorization: Bearer <token>'")
    return credentials.credentials


async def _owner(request: Request, credentials: HTTPAuthorizationCredentials | None) -> User:
    """The user the request's bearer token belongs to (the token cache first, then the database)."""
    if credentials is None:
        raise AuthenticationFailed("sign in first: send 'Authorization: Bearer <token>'")
    token = credentials.credentials
    ctx: ServiceContext = request.app.state.ctx
    cache = token_cache(request)
    mark = cache.seen()
    user = cache.get(token, ctx.now())
    if user is None:
        user = await run_in_threadpool(user_for_token, ctx, token)  # a query: not on the event loop
        if user is None:
            raise AuthenticationFailed("the token is unknown, revoked or expired; sign in again")
        cache.put(token, user, ctx.now(), mark=mark)
    return user


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    return await _owner(request, credentials)


async def current_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Who is calling. One dependency on the bearer scheme (which OpenAPI documents), not a chain:
    FastAPI solves each dependency of each request anew, and a chain of four cost more than the
    token cache's lookup."""
    return actor_of(await _owner(request, credentials))


Ctx = Annotated[ServiceContext, Depends(get_ctx)]
CurrentUser = Annotated[User, Depends(current_user)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
BearerToken = Annotated[str, Depends(bearer_token)]
