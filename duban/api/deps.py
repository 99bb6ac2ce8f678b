"""What routes depend on: the service context, and who is calling (from a bearer token).

FastAPI runs a plain `def` dependency in the thread pool, one hand-over per dependency per
request; handing a request to a worker thread and back cost more CPU than the token lookup itself
(30% of an action's server time with five of them). So what only reads the request is `async`
and stays on the event loop; only `current_user`, which queries the database, goes to a thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from duban.errors import AuthenticationFailed
from duban.models import User
from duban.services.context import Actor, ServiceContext
from duban.services.users import actor_of, user_for_token

# auto_error=False: a missing token becomes our own 401 with a Chinese message, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="a token from POST /api/auth/login")


async def get_ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


async def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    if credentials is None:
        raise AuthenticationFailed("sign in first: send 'Authorization: Bearer <token>'")
    return credentials.credentials


def current_user(
    ctx: Annotated[ServiceContext, Depends(get_ctx)], token: Annotated[str, Depends(bearer_token)]
) -> User:
    user = user_for_token(ctx, token)
    if user is None:
        raise AuthenticationFailed("the token is unknown, revoked or expired; sign in again")
    return user


async def current_actor(user: Annotated[User, Depends(current_user)]) -> Actor:
    return actor_of(user)


Ctx = Annotated[ServiceContext, Depends(get_ctx)]
CurrentUser = Annotated[User, Depends(current_user)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
BearerToken = Annotated[str, Depends(bearer_token)]
