"""Every API route, sent malformed input, refuses it in Chinese: `message_zh` holds no English.

The routes are walked as the app documents them (/openapi.json), so a new route is walked too:
each path parameter, query parameter and body is given what its type refuses, and a body of the
wrong shape, an unreadable one and the wrong content type. `message` may be English (the API
answers in both languages); `message_zh` is what a person reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from duban.config import policy
from tests.appworld import AppWorld

# ASCII words a Chinese message may hold: those config/labels.toml itself uses (PDF, JSON, UTF-8…).
LABELS = (Path(policy.__file__).parent / "labels.toml").read_text(encoding="utf-8")
ALLOWED = set(re.findall(r"[A-Za-z]{2,}", "\n".join(
    line.split("=", 1)[1] for line in LABELS.splitlines() if "=" in line and not line.startswith("#"))))
WORD = re.compile(r"[A-Za-z]{2,}")
NOT_A_NUMBER = "x"


def english(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if w not in ALLOWED]


Operation = dict[str, Any]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, Operation]]:
    """(method, path, operation) of every API route, as the app documents them."""
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if path.startswith("/api"):
                yield method.upper(), path, operation


def path_for(path: str, operation: Operation, value: str) -> str:
    for param in operation.get("parameters", []):
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", value)
    return path


def answers(client: httpx.Client, aw: AppWorld, method: str, path: str, operation: Operation
            ) -> Iterator[tuple[str, httpx.Response]]:
    """The route's answers to what its path, query and body parameters' types refuse."""
    headers = aw.auth("dispatcher")
    base = path_for(path, operation, "GS-2023-00001")
    for value in (NOT_A_NUMBER, "９" * 50, "-1", "99999999999999999999999"):
        yield f"path {value}", client.request(method, path_for(path, operation, value), headers=headers)
    for param in operation.get("parameters", []):
        if param["in"] == "query":
            for value in (NOT_A_NUMBER, "字" * 5000, "-1"):
                yield f"query {param['name']}={value[:9]}", client.request(
                    method, base, params={param["name"]: value}, headers=headers)
    if "requestBody" not in operation:
        return
    for label, kwargs in (
        ("body list", {"json": []}),
        ("body empty", {"json": {}}),
        ("body wrong types", {"json": {"form": 1, "title": [], "numbers": "x", "action": 1, "kind": 2}}),
        ("body unknown field", {"json": {"zz": 1}}),
        ("body not json", {"content": b"{", "headers": {"content-type": "application/json"}}),
        ("body not utf-8", {"content": b'{"a": "\xff"}', "headers": {"content-type": "application/json"}}),
        ("body text/plain", {"content": b"hello", "headers": {"content-type": "text/plain"}}),
        ("body form", {"data": {"a": "b"}}),
        ("body too large", {"content": b"[" + b"1," * 400_000 + b"1]",
                            "headers": {"content-type": "application/json"}}),
    ):
        extra = kwargs.pop("headers", {})
        yield label, client.request(method, base, headers={**headers, **extra}, **kwargs)


def test_every_api_route_refuses_malformed_input_in_chinese(aw: AppWorld, client: httpx.Client) -> None:
    found = []
    walked = 0
    for method, path, operation in operations(client.get("/openapi.json").json()):
        for label, answer in answers(client, aw, method, path, operation):
            walked += 1
            if answer.status_code < 400 or answer.status_code in (401, 403):
                continue
            body = answer.json()
            said = body.get("message_zh") or ""
            if not said or english(said) or "detail" in body:
                found.append((method, path, label, answer.status_code, said or body))
    assert walked > 200
    assert not found, "\n".join(map(str, found))


def test_what_no_route_takes_is_refused_in_chinese_too(aw: AppWorld, client: httpx.Client) -> None:
    for answer in (client.get("/api/nope", headers=aw.auth("dispatcher")),
                   client.put("/api/cases", headers=aw.auth("dispatcher")),
                   client.get("/api/cases"),
                   client.get("/api/cases", headers={"Authorization": "Bearer nope"}),
                   client.get("/api/cases", params={"state": "\x00"}, headers=aw.auth("dispatcher")),
                   client.post("/api/auth/login", data={"username": "x", "password": "y"})):
        said = answer.json().get("message_zh") or ""
        assert answer.status_code >= 400 and said and not english(said), (answer.request.url, answer.text)
