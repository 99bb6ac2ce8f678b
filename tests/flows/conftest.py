"""One Prefect test harness for the whole session: it costs ~20 s to start, so never one per test.

Flow logic is tested through the plain functions the flows call (tests/services, tests/notify);
here each flow runs once for real, which also catches Prefect breaking on its dependencies
(fastapi, SQLAlchemy: see docs/stack.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Before Prefect reads its settings: a slow cold start, and no outside lookups.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    from duban.flows.common import local_run_settings

    with local_run_settings(), prefect_test_harness(server_startup_timeout=90):
        yield  # flows run as duban serve runs them: no heartbeat thread (~1 s less per run)
