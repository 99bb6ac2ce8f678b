"""Keeping strangers out: sign-in attempts limited, security headers on every answer, cookies that
only travel where they should, and secrets that come from the environment alone."""

from __future__ import annotations

import asyncio
import re
import stat
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from duban.app import create_app
from duban.config.settings import Settings
from duban.services.users import secret_key
from tests.appworld import PASSWORD, AppWorld, LiveServer, app_for, live_client

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {
    "content-security-policy": "default-src 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def _get(app: Any, url: str) -> httpx.Response:
    """One request straight into the ASGI app, as if it came in on `url`'s scheme."""

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            return await http.get(url)

    return asyncio.run(call())


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_five_failed_sign_ins_lock_that_name_from_that_address_for_fifteen_minutes(
        aw: AppWorld, client: httpx.Client) -> None:
    for _ in range(5):
        assert _login(client, "clerk", "wrong password").status_code == 401
    locked = _login(client, "clerk", PASSWORD)  # even the right password: a guesser learns nothing
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 900
    assert locked.json()["code"] == "too_many_attempts"
    assert locked.json()["message_zh"] == "登录失败次数过多，请15分钟后再试"
    assert _login(client, "CLERK ", PASSWORD).status_code == 429  # the same name, spelt otherwise
    assert _login(client, "supervisor", PASSWORD).status_code == 200  # others are not locked out
    aw.advance(minutes=15)
    assert _login(client, "clerk", PASSWORD).status_code == 200


def test_a_success_clears_the_failures_before_it(client: httpx.Client) -> None:
    for _ in range(4):
        _login(client, "leader", "wrong password")
    assert _login(client, "leader", PASSWORD).status_code == 200
    for _ in range(4):
        assert _login(client, "leader", "wrong password").status_code == 401
    assert _login(client, "leader", PASSWORD).status_code == 200


def test_the_login_page_is_limited_too_and_says_so_in_chinese(aw: AppWorld) -> None:
    with LiveServer(app_for(aw)) as site, live_client(base_url=site) as browser:
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', browser.get("/login").text)
        assert csrf is not None
        form = {"username": "admin", "password": "wrong password", "csrf": csrf.group(1)}
        answers = [browser.post("/login", data=form).status_code for _ in range(5)]
        locked = browser.post("/login", data={**form, "password": PASSWORD})
        inbox = browser.get("/inbox", follow_redirects=False)  # not signed in
        api = _login(browser, "admin", PASSWORD)  # the API shares the count
    assert answers == [401] * 5
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text
    assert "Retry-After" in locked.headers
    assert inbox.status_code == 303 and inbox.headers["location"].startswith("/login")
    assert api.status_code == 429


@pytest.mark.parametrize("path", ["/api/meta/health", "/api/cases", "/api/nope", "/login", "/inbox",
                                  "/cases/GS-2023-99999", "/nope", "/openapi.json"])
def test_every_answer_carries_the_security_headers(aw: AppWorld, client: httpx.Client, path: str) -> None:
    answer = client.get(path, headers=aw.auth("unit") if path.startswith("/api") else {},
                        follow_redirects=False)
    for name, value in HEADERS.items():
        assert value in answer.headers.get(name, ""), (path, name, answer.status_code)
    assert "strict-transport-security" not in answer.headers  # plain HTTP: no HSTS


def test_refusals_carry_them_too(client: httpx.Client) -> None:
    too_large = client.post("/api/cases", content=b"x" * (600 * 1024),
                            headers={"Content-Type": "application/json"})
    unauthorised = client.get("/api/cases")
    for answer in (too_large, unauthorised):
        for name, value in HEADERS.items():
            assert value in answer.headers.get(name, ""), (answer.status_code, name)


def test_over_https_the_cookie_is_secure_and_hsts_is_sent(aw: AppWorld) -> None:
    page = _get(app_for(aw), "https://duban.example/login")
    assert page.headers["strict-transport-security"].startswith("max-age=")
    cookie = page.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_over_plain_http_the_cookie_is_httponly_and_lax_but_not_secure(aw: AppWorld) -> None:
    cookie = _get(app_for(aw), "http://127.0.0.1/login").headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()


def test_duban_cookie_secure_marks_cookies_secure_behind_a_tls_proxy(
        aw: AppWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUBAN_COOKIE_SECURE", "true")
    app = create_app(aw.ctx, settings=Settings(), secret="s" * 40)
    page = _get(app, "http://127.0.0.1/login")
    assert "secure" in page.headers["set-cookie"].lower()
    assert page.headers["strict-transport-security"].startswith("max-age=")


def test_the_secret_key_comes_from_the_environment_before_any_file(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_SECRET_KEY", raising=False)
    generated = secret_key(Settings(data_dir=tmp_path))
    path = tmp_path / "secret_key"
    assert path.read_text() == generated and len(generated) >= 48
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the embedded demo's key: its owner's only
    assert secret_key(Settings(data_dir=tmp_path)) == generated  # kept across restarts
    monkeypatch.setenv("DUBAN_SECRET_KEY", "from-the-environment-" + "k" * 30)
    assert secret_key(Settings(data_dir=tmp_path)) == "from-the-environment-" + "k" * 30


SECRET_LIKE = re.compile(
    r"(?i)(-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b(secret_key|smtp_password|password|api_key|token)\s*=\s*[\"'][^\"'\s]{6,}[\"'])")


def test_no_secret_is_kept_in_config_or_in_the_repository() -> None:
    """Secrets come from DUBAN_* in the environment; config/ holds policy, and git holds code."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    files = [ROOT / name for name in tracked.stdout.decode().split("\0") if name]
    files += list((ROOT / "config").rglob("*.toml"))  # even before they are committed
    found = []
    for path in files:
        if "tests" in path.relative_to(ROOT).parts or not path.is_file() or path.suffix in (".png", ".xlsx"):
            continue  # tests hold made-up passwords for made-up users
        text = path.read_text(encoding="utf-8", errors="ignore")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)[:40]}" for m in SECRET_LIKE.finditer(text)]
    assert found == []
    for toml in (ROOT / "config").rglob("*.toml"):
        for key, value in _leaves(tomllib.loads(toml.read_text(encoding="utf-8"))):
            if re.search(r"(?i)secret|password|passwd|token|api_key", key):
                # labels.toml names the password field ("密码") for people: text, not a credential
                assert isinstance(value, str) and re.search(r"[\u4e00-\u9fff]", value), (toml, key)


def _leaves(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            out += _leaves(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def test_settings_read_secrets_only_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DUBAN_SECRET_KEY=from-a-dotenv-file\n")  # not read: no env_file
    monkeypatch.delenv("DUBAN_SECRET_KEY", raising=False)
    assert Settings().secret_key is None
    monkeypatch.setenv("DUBAN_SMTP_PASSWORD", "from-the-environment")
    assert Settings().smtp_password == "from-the-environment"
