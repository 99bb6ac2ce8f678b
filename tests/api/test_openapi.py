"""The OpenAPI document says what the API answers: our error shape, every status, the security
headers, and the codes from config/labels.toml as enums. (tests/faults/test_fuzz.py checks the
answers against it; this checks the document's promises themselves.)"""

from __future__ import annotations

from typing import Any

import pytest

from duban.app import SECURITY_HEADERS
from tests.appworld import AppWorld, app_for

PROBLEM = {"$ref": "#/components/schemas/ProblemOut"}


@pytest.fixture
def spec(aw: AppWorld) -> dict[str, Any]:
    return app_for(aw).openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def problem_schema(op: dict[str, Any], status: str) -> Any:
    return op["responses"][status]["content"]["application/json"]["schema"]


def test_fastapis_validation_error_shape_is_gone_and_every_error_is_a_problem(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert "ValidationError" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["ProblemOut"]
    assert {"code", "message", "message_zh"} <= set(problem["required"])
    for method, path, op in operations(spec):
        errors = [status for status in op["responses"] if status.startswith(("4", "5"))]
        assert "422" in errors, (method, path)
        for status in errors:
            assert problem_schema(op, status) == PROBLEM, (method, path, status)


def test_every_operation_with_a_token_documents_401_and_every_body_413(spec: dict[str, Any]) -> None:
    secured = [(m, p) for m, p, op in operations(spec) if op.get("security")]
    assert ("get", "/api/auth/me") in secured and ("post", "/api/auth/logout") in secured
    assert len(secured) >= 15
    for method, path, op in operations(spec):
        if op.get("security"):
            assert op["responses"]["401"]["headers"]["WWW-Authenticate"], (method, path)
        if method in ("post", "put", "patch"):
            assert "413" in op["responses"], (method, path)
    health = spec["paths"]["/api/meta/health"]["get"]
    assert "401" not in health["responses"]  # it takes no token
    login = spec["paths"]["/api/auth/login"]["post"]
    assert {"401", "413", "422", "429"} <= set(login["responses"])
    assert "Retry-After" in login["responses"]["429"]["headers"]


def test_the_statuses_routes_answer_are_theirs_only(spec: dict[str, Any]) -> None:
    def statuses(path: str, method: str = "get") -> set[str]:
        return set(spec["paths"][path][method]["responses"])

    assert {"403", "404", "409"} <= statuses("/api/cases/{number}/actions/{action}", "post")
    assert {"403", "404", "409"} <= statuses("/api/cases", "post")
    assert "404" in statuses("/api/cases/{number}") and "409" not in statuses("/api/cases/{number}")
    assert "403" in statuses("/api/notifications")
    assert not {"403", "404", "409"} & statuses("/api/meta/labels")


def test_every_answer_documents_the_security_headers(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            for name, value in SECURITY_HEADERS.items():
                assert response["headers"][name]["schema"]["enum"] == [value], (method, path, status, name)


def test_codes_from_the_labels_are_enums(aw: AppWorld, spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    labels = aw.ctx.labels
    case_in = schemas["CaseIn"]["properties"]
    assert case_in["channel"]["enum"] == list(labels.channels)
    assert case_in["category"]["enum"] == list(labels.categories)
    assert case_in["priority"]["enum"] and set(case_in["priority"]["enum"]) == set(labels.priorities)
    row = schemas["CaseRowOut"]["properties"]
    assert row["state"]["enum"] == list(labels.states)
    assert row["warning"]["enum"] == list(labels.warnings)
    disposition = [b for b in row["disposition"]["anyOf"] if b.get("type") == "string"][0]
    assert disposition["enum"] == list(labels.dispositions)
    facts = schemas["CaseFacts"]["properties"]
    assert facts["channel"]["enum"] == list(labels.channels)
    assert schemas["OrgOut"]["properties"]["kind"]["enum"] == list(labels.kinds)
