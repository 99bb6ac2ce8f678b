"""Fuzzing the whole OpenAPI with schemathesis and all its checks: no 5xx, every answer as the
document says it is, and a refused request changes nothing.

Every operation of `create_app`'s schema gets generated requests, valid and invalid (schemathesis'
positive and negative modes), each sent as every role (clerk, dispatcher, supervisor, leader,
admin, unit) and with no token. Each answer goes through every check schemathesis has
(`validate_response` with no list runs them all: not_a_server_error, status_code_conformance,
content_type_conformance, response_schema_conformance, response_headers_conformance — the
document declares the security headers on every answer — positive_data_acceptance,
negative_data_rejection, missing_required_header, ignored_auth, unsupported_method, ...).
Path parameters are often swapped for real case numbers and org codes, so the requests reach the
cases rather than bouncing off 404s. Before and after each request the database gets a checksum
(row counts of every table, the sum of case versions, the last audit event); any 4xx must leave
it exactly as it was. The number of requests and failures is printed.

positive_data_acceptance is told that 422 is an answer to valid-looking data: a JSON schema
cannot say that an office code must exist, that a date must not lie in the future, or which form
an action takes (its name is in the path); such refusals name their field like any other 422.

Then schemathesis' coverage phase for every operation (~1,400 cases: boundary values, wrong types,
missing headers, malformed content types, methods the document does not list, which must be
405 with Allow), each with no token and as two roles drawn from the case (each role gets about a
third of them): the phase checks how a malformed request is refused, which the generated
requests above already try as every role; sent as all seven identities they were two thirds of
the test's requests.

`DUBAN_FUZZ_EXAMPLES` sets the examples per operation and mode (default 12): about 7,900 requests
in all, ~50 s here on SQLite.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from duban.models import User
from duban.services import CaseService
from duban.services.users import issue_token
from tests.appworld import AppWorld, app_for
from tests.factories import REPORTED, SUPERVISOR, transferred, unit_actor
from tests.faults import figures

EXAMPLES = int(os.environ.get("DUBAN_FUZZ_EXAMPLES", "12"))
IDENTITIES = ("clerk", "dispatcher", "supervisor", "leader", "admin", "unit", None)
ROLES = [identity for identity in IDENTITIES if identity is not None]
# See the module's docstring: business rules a JSON schema cannot state answer 422.
CONFIG = SchemathesisConfig.from_dict({"checks": {
    "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]},
}})


class FuzzWorld:
    """The app on a small world with cases in several states, and a checksum of everything."""

    def __init__(self, aw: AppWorld) -> None:
        self.aw = aw
        self.app = app_for(aw)
        unit = unit_actor(aw.ctx, "GS-LZ-CG-GOV")
        service = CaseService(aw.ctx)
        received = transferred(aw.ctx, title="待分流的反映：路灯不亮", subject_org_code=None)
        handling = transferred(aw.ctx, title="办理中的反映：小区停水")
        reported = transferred(aw.ctx, title="已报告的反映：工程款拖欠")
        service.act(reported, "submit_report", actor=unit, form={**REPORTED, "text": "已付清"})
        closed = transferred(aw.ctx, title="已办结的反映：噪音扰民")
        service.act(closed, "submit_report", actor=unit, form={**REPORTED, "text": "已处理"})
        service.act(closed, "approve", actor=SUPERVISOR)
        service.act(closed, "close", actor=SUPERVISOR, form={"reason": "declined"})
        self.numbers = [received, handling, reported, closed, "GS-2023-99999"]
        self.codes = ["GS", "GS-LZ-CG-GOV", "GS-NOPE"]
        tables = [t.name for t in SQLModel.metadata.sorted_tables]
        counts = ", ".join(f"(SELECT count(*) FROM {name})" for name in tables)
        self._checksum_sql = text(f"SELECT {counts}, (SELECT coalesce(sum(version), 0) FROM cases), "
                                  "(SELECT coalesce(max(id), 0) FROM audit_events)")
        self.last_checksum = self.checksum()
        self.requests = 0
        self.server_errors: list[str] = []
        self.failed_checks: list[str] = []
        self.coverage_cases = 0
        self.changed_by_refusal: list[str] = []
        self.statuses: Counter[int] = Counter()

    def checksum(self) -> tuple[Any, ...]:
        with self.aw.ctx.engine.connect() as conn:
            return tuple(conn.execute(self._checksum_sql).one())

    def headers(self, identity: str | None) -> dict[str, str]:
        return self.aw.auth(identity) if identity else {}

    def renew(self, identity: str) -> None:
        """After a fuzzed logout revoked the token, sign that user in again."""
        with Session(self.aw.ctx.engine) as session:
            user = session.exec(select(User).where(User.username == identity)).one()
        self.aw.tokens[identity] = issue_token(self.aw.ctx, user)[0]


@pytest.fixture
def fuzz_world(aw: AppWorld) -> FuzzWorld:
    return FuzzWorld(aw)


def test_every_generated_request_passes_all_checks_and_a_refusal_changes_nothing(
        fuzz_world: FuzzWorld) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", fuzz_world.app, config=CONFIG)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]  # the whole API, not a part
    per_operation: dict[str, int] = {}
    for operation in operations:
        for mode in GenerationMode:
            before = fuzz_world.requests

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate])
            def fuzz(case: Any) -> None:
                _send(fuzz_world, case)

            try:
                fuzz()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # nothing in this operation can be made invalid (no parameters, no body)
            sent = fuzz_world.requests - before
            per_operation[operation.label] = per_operation.get(operation.label, 0) + sent
        # schemathesis' coverage phase: boundary values, wrong types, missing headers, malformed
        # content types and the methods the document does not list (405 with Allow).
        generation = api.config.generation_for(operation=operation)
        for case in api.iter_coverage_cases(operation, generation_modes=list(GenerationMode),
                                            generation_config=generation):
            _send(fuzz_world, case, every_identity=False)
            fuzz_world.coverage_cases += 1
    figures.add("requests fuzzed", fuzz_world.requests)
    figures.add("5xx seen", len(fuzz_world.server_errors))
    figures.add("schemathesis checks failed", len(fuzz_world.failed_checks))
    figures.add("refused requests that changed data", len(fuzz_world.changed_by_refusal))
    figures.note(f"fuzz ({fuzz_world.aw.ctx.engine.dialect.name}): {fuzz_world.requests} requests over "
                 f"{len(operations)} operations × positive/negative × {len(IDENTITIES)} identities (and "
                 f"{fuzz_world.coverage_cases} cases of the coverage phase × 3); "
                 f"statuses {dict(sorted(fuzz_world.statuses.items()))}")
    assert not fuzz_world.server_errors, fuzz_world.server_errors[:3]
    assert not fuzz_world.failed_checks, "\n".join(fuzz_world.failed_checks[:10])
    assert not fuzz_world.changed_by_refusal, fuzz_world.changed_by_refusal[:3]
    assert min(per_operation.values()) >= 3


def _negated(case: Any, location: ParameterLocation) -> bool:
    """Whether schemathesis made this part of the request invalid on purpose."""
    info = case.meta.components.get(location) if case.meta is not None else None
    return info is not None and info.mode is GenerationMode.NEGATIVE


def _send(fuzz_world: FuzzWorld, case: Any, *, every_identity: bool = True) -> None:
    rng = random.Random(repr((case.method, case.path, case.path_parameters, case.query)))
    params = case.path_parameters or {}
    # Invalid data is sent as generated: a real case number in place of a negated one, or a token
    # in place of a negated Authorization header, would make the request valid, and
    # negative_data_rejection would rightly complain.
    if "number" in params and not _negated(case, ParameterLocation.PATH) and rng.random() < 0.7:
        params["number"] = rng.choice(fuzz_world.numbers)
    if "code" in params and not _negated(case, ParameterLocation.PATH) and rng.random() < 0.5:
        params["code"] = rng.choice(fuzz_world.codes)
    identities = IDENTITIES if every_identity else (None, *rng.sample(ROLES, 2))
    for identity in (None,) if _negated(case, ParameterLocation.HEADER) else identities:
        before = fuzz_world.last_checksum  # what the request before left: nothing ran since
        headers = fuzz_world.headers(identity)
        response = case.call(headers=headers)
        fuzz_world.requests += 1
        try:
            case.validate_response(response, headers=headers)
        except (Failure, FailureGroup) as exc:
            failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
            fuzz_world.failed_checks.extend(
                f"{identity or 'anonymous'} {case.method} {case.formatted_path} → {response.status_code}: "
                f"{failure.title}: {failure.message[:300]} | {response.text[:200]}" for failure in failures)
        fuzz_world.statuses[response.status_code] += 1
        where = f"{identity or 'anonymous'} {case.method} {case.formatted_path} → {response.status_code}"
        if response.status_code >= 500:
            fuzz_world.server_errors.append(f"{where}: {response.text[:300]}")
        fuzz_world.last_checksum = fuzz_world.checksum()
        if 400 <= response.status_code < 500 and fuzz_world.last_checksum != before:
            fuzz_world.changed_by_refusal.append(where)
        if identity and case.path == "/api/auth/logout" and response.status_code == 204:
            fuzz_world.renew(identity)
            fuzz_world.last_checksum = fuzz_world.checksum()
