"""The stack's Prefect server answers the pinned Prefect client's filter requests.

Prefect 3.8.8's client sends unset filter parameters as JSON null; FastAPI ≥ 0.148 refuses them
(422) where older versions used the default (duban/flows/prefect_server.py). The requests below
are the ones `prefect work-pool ls`, `deployment ls` and `flow-run logs` send, verbatim.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from duban.flows.prefect_server import embedded_body_routes, shimmed, without_top_level_nulls

pytestmark = pytest.mark.slow

CLI_REQUESTS = {
    "/api/work_pools/filter": {"limit": None, "offset": 0, "work_pools": None},
    "/api/deployments/filter": {"flows": None, "flow_runs": None, "task_runs": None, "deployments": None,
                                "work_pools": None, "work_pool_queues": None, "limit": None, "offset": 0,
                                "sort": None},
    "/api/logs/filter": {"logs": {"flow_run_id": {"any_": []}}, "limit": None, "offset": 0, "sort": None},
}


def post_all(app: Any) -> dict[str, int]:
    async def go() -> dict[str, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://prefect") as client:
            return {path: (await client.post(path, json=body)).status_code
                    for path, body in CLI_REQUESTS.items()}
    return asyncio.run(go())


def test_the_clients_null_filters_get_answers_from_the_shimmed_server_and_422_without_it(
        prefect_harness: None) -> None:
    from prefect.server.api.server import create_app

    app = create_app(ephemeral=True, webserver_only=True)
    assert set(post_all(app).values()) == {422}, "FastAPI accepts null defaults again: drop the shim"
    assert post_all(shimmed(app)) == dict.fromkeys(CLI_REQUESTS, 200)
    methods = {method for found, _ in embedded_body_routes(app) for method in found}
    assert methods == {"POST"}, "a PATCH or PUT of one model may set a field to null on purpose"


def test_only_top_level_nulls_are_dropped_and_other_bodies_pass_as_they_came() -> None:
    nested = b'{"flows": {"name": null}}'
    assert without_top_level_nulls(b'{"limit": null, "flows": {"name": null}}') == nested
    for body in (b'[null]', b'null', b'not json', b'{"limit": 5}', b''):
        assert without_top_level_nulls(body) == body
