"""Signing in for API clients: a password buys a bearer token; logout revokes it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from duban.api.deps import BearerToken, Ctx, CurrentUser, token_cache
from duban.api.openapi import errors
from duban.api.present import user_out
from duban.api.schemas import LoginIn, TokenOut, UserOut
from duban.models import Org, User
from duban.services.context import ServiceContext
from duban.services.throttle import sign_in
from duban.services.users import issue_token, revoke_token

router = APIRouter(prefix="/auth", tags=["auth"])


def _user_dict(ctx: ServiceContext, user: User) -> dict:
    with Session(ctx.engine) as session:
        org = session.get(Org, user.org_id)
        assert org is not None
        return user_out(ctx, user, org)


@router.post("/login", response_model=TokenOut, responses=errors(401, 429))
def login(body: LoginIn, ctx: Ctx, request: Request) -> dict:
    """Exchange a user name and password for a bearer token (valid 7 days)."""
    user = sign_in(ctx, request.app.state.login_throttle, username=body.username, password=body.password,
                   address=request.client.host if request.client else None)
    token, expires = issue_token(ctx, user)
    return {"token": token, "expires_at": expires, "user": _user_dict(ctx, user)}


@router.post("/logout", status_code=204)
def logout(user: CurrentUser, token: BearerToken, ctx: Ctx, request: Request) -> Response:
    """Revoke the token this request carries."""
    revoke_token(ctx, token)
    token_cache(request).forget(token)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser, ctx: Ctx) -> dict:
    """Who the token belongs to: name, role and office or unit."""
    return _user_dict(ctx, user)
