"""Signing in for API clients: a password buys a bearer token; logout and a new password end
every session and token of the user, in every worker process (services/sessions.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from duban.api.deps import BearerToken, Ctx, CurrentUser, token_cache
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.api.schemas import LoginIn, PasswordIn, TokenOut, UserOut
from duban.models import User
from duban.present.shapes import user_out
from duban.services.context import ServiceContext
from duban.services.orgs import org_of
from duban.services.throttle import change_password_counted, sign_in
from duban.services.users import issue_token, sign_out

router = APIRouter(prefix="/auth", tags=["auth"], route_class=PooledRoute)


def _user_dict(ctx: ServiceContext, user: User) -> dict:
    return user_out(ctx, user, org_of(ctx.engine, user.org_id))


@router.post("/login", response_model=TokenOut, responses=errors(401, 429))
def login(body: LoginIn, ctx: Ctx, request: Request) -> dict:
    """Exchange a user name and password for a bearer token (valid 7 days)."""
    user = sign_in(ctx, request.app.state.login_throttle, username=body.username, password=body.password,
                   address=request.client.host if request.client else None)
    token, expires = issue_token(ctx, user)
    return {"token": token, "expires_at": expires, "user": _user_dict(ctx, user)}


@router.post("/logout", status_code=204)
def logout(user: CurrentUser, token: BearerToken, ctx: Ctx, request: Request) -> Response:
    """Sign out everywhere: every token and page session of this user ends at once."""
    assert user.id is not None
    sign_out(ctx, user.id)
    token_cache(request).forget(token)
    return Response(status_code=204)


@router.post("/password", status_code=204, responses=errors(401, 422, 429))
def password(body: PasswordIn, user: CurrentUser, token: BearerToken, ctx: Ctx, request: Request) -> Response:
    """Change your own password; every token and page session of yours ends, this one too."""
    change_password_counted(ctx, request.app.state.login_throttle, user=user, current=body.current_password,
                            new=body.new_password, address=request.client.host if request.client else None)
    token_cache(request).forget(token)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser, ctx: Ctx) -> dict:
    """Who the token belongs to: name, role and office or unit."""
    return _user_dict(ctx, user)
