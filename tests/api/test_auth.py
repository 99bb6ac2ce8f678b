"""Signing in over the API: passwords and tokens, and what an unauthenticated caller gets."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlmodel import Session, select

from duban.api.deps import TokenCache
from duban.models import ApiToken, User
from duban.services.users import revoke_token
from tests.appworld import PASSWORD, AppWorld
from tests.factories import advance


def test_a_password_buys_a_token_that_says_who_you_are(client: httpx.Client) -> None:
    answer = client.post("/api/auth/login", json={"username": "unit", "password": PASSWORD})
    assert answer.status_code == 200
    token = answer.json()["token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "unit" and me["org"]["code"] == "GS-LZ-CG-GOV"
    assert me["role_label"] == "承办单位"


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client: httpx.Client) -> None:
    wrong = client.post("/api/auth/login", json={"username": "unit", "password": "nope nope"})
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "nope nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["message_zh"].startswith("用户名或密码错误")


def test_passwords_and_tokens_are_stored_only_as_hashes(aw: AppWorld, client: httpx.Client) -> None:
    token = client.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD}).json()["token"]
    with Session(aw.ctx.engine) as session:
        user = session.exec(select(User).where(User.username == "clerk")).one()
        hashes = [t.token_hash for t in session.exec(select(ApiToken))]
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert token not in hashes and all(len(h) == 64 for h in hashes)


def test_calls_without_a_valid_token_get_401_with_a_chinese_message(client: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer dbn_forged"}, {"Authorization": "Basic eDp5"}):
        answer = client.get("/api/cases", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json()["code"] == "authentication_failed" and answer.json()["message_zh"]


def test_logout_revokes_the_token(aw: AppWorld, client: httpx.Client) -> None:
    assert client.post("/api/auth/logout", headers=aw.auth("leader")).status_code == 204
    assert client.get("/api/auth/me", headers=aw.auth("leader")).status_code == 401


def test_a_token_revoked_by_another_process_is_refused_within_seconds(
        aw: AppWorld, client: httpx.Client) -> None:
    assert client.get("/api/auth/me", headers=aw.auth("clerk")).status_code == 200  # now remembered
    revoke_token(aw.ctx, aw.tokens["clerk"])  # as another worker or the CLI would: not this process
    advance(aw.ctx, seconds=TokenCache().ttl.total_seconds())
    assert client.get("/api/auth/me", headers=aw.auth("clerk")).status_code == 401


def test_the_token_cache_keeps_valid_tokens_only_for_a_while_and_only_so_many() -> None:
    cache = TokenCache(ttl=dt.timedelta(seconds=5), size=2)
    now = dt.datetime(2023, 9, 27, 2, tzinfo=dt.UTC)
    users = [User(username=f"u{i}", role="clerk", org_id=1, password_hash="x", created_at=now)
             for i in range(3)]
    for i, user in enumerate(users):
        cache.put(f"dbn_{i}", user, now)
    assert cache.get("dbn_0", now) is None  # the least recently used went first
    assert cache.get("dbn_2", now + dt.timedelta(seconds=4)) is users[2]
    assert cache.get("dbn_2", now + dt.timedelta(seconds=5)) is None
    assert cache.get("dbn_1", now - dt.timedelta(days=1)) is None  # a clock moved back forgets too
    cache.put("dbn_1", users[1], now)
    cache.forget("dbn_1")
    assert cache.get("dbn_1", now) is None and cache.get("dbn_forged", now) is None


def test_a_token_expires_after_seven_days(aw: AppWorld, client: httpx.Client) -> None:
    assert client.get("/api/auth/me", headers=aw.auth("clerk")).status_code == 200
    advance(aw.ctx, days=7, seconds=1)
    assert client.get("/api/auth/me", headers=aw.auth("clerk")).status_code == 401


def test_the_health_check_needs_no_token(client: httpx.Client) -> None:
    assert client.get("/api/meta/health").json() == {"status": "ok"}


def test_logout_ends_every_token_of_the_user_at_once(aw: AppWorld, client: httpx.Client) -> None:
    second = client.post("/api/auth/login", json={"username": "leader", "password": PASSWORD}).json()["token"]
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert client.post("/api/auth/logout", headers=aw.auth("leader")).status_code == 204
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    assert client.get("/api/auth/me", headers=aw.auth("clerk")).status_code == 200  # others stay


def test_a_password_change_over_the_api_follows_the_policy_and_ends_every_token(
        aw: AppWorld, client: httpx.Client) -> None:
    def change(current: str, new: str) -> httpx.Response:
        return client.post("/api/auth/password", headers=aw.auth("unit"),
                           json={"current_password": current, "new_password": new})

    weak = change(PASSWORD, "qwerty123456")
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    assert weak.json()["field"] == "new_password" and "qwerty123456" not in weak.text
    assert "常见" in weak.json()["message_zh"]
    short = change(PASSWORD, "Gs#9x!k")
    assert short.status_code == 422 and "10" in short.json()["message_zh"]
    wrong = change("not the password", "a fine new passphrase")
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    assert change(PASSWORD, "a fine new passphrase").status_code == 204
    assert client.get("/api/auth/me", headers=aw.auth("unit")).status_code == 401
    assert client.post("/api/auth/login", json={"username": "unit", "password": PASSWORD}).status_code == 401
    assert client.post("/api/auth/login", json={"username": "unit",
                                                "password": "a fine new passphrase"}).status_code == 200


def test_a_disabled_user_gets_a_clear_401_and_their_tokens_are_refused(aw: AppWorld,
                                                                      client: httpx.Client) -> None:
    from duban.services.users import set_active

    assert client.get("/api/auth/me", headers=aw.auth("unit")).status_code == 200  # now remembered
    set_active(aw.ctx, "unit", False)  # as `duban user disable unit` does, here without the HTTP layer
    assert client.get("/api/auth/me", headers=aw.auth("unit")).status_code == 401
    refused = client.post("/api/auth/login", json={"username": "unit", "password": PASSWORD})
    assert refused.status_code == 401 and refused.json()["code"] == "account_disabled"
    assert "停用" in refused.json()["message_zh"]


def test_guessing_the_current_password_is_throttled_like_signing_in(aw: AppWorld,
                                                                   client: httpx.Client) -> None:
    def change(current: str) -> httpx.Response:
        return client.post("/api/auth/password", headers=aw.auth("clerk"),
                           json={"current_password": current, "new_password": "a fine new passphrase"})

    assert [change(f"guess number {i}").status_code for i in range(5)] == [422] * 5
    locked = change(PASSWORD)  # even the right one, while it lasts
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    assert client.get("/api/auth/me", headers=aw.auth("clerk")).status_code == 200  # nothing ended
