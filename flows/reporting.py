"""What a flow run tells Prefect: its counts as a table artifact, Duban's warnings in its run log,
and a Failed state when mail it had to send is still waiting.

Runs listed in Prefect's UI then answer "what did it do" without reading a worker's log file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prefect.artifacts import create_table_artifact
from prefect.logging import get_run_logger
from prefect.states import Failed, State

from duban.config.policy import Labels

DUBAN_LOGGER = "duban"


class _ToRunLog(logging.Handler):
    """Forwards the records of `duban.*` loggers made in the run's own thread to its run logger
    (the scheduler runs other jobs in other threads meanwhile: their records are not this run's)."""

    def __init__(self, run_logger: logging.LoggerAdapter[Any] | logging.Logger) -> None:
        super().__init__(logging.WARNING)
        self.run_logger = run_logger
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.run_logger.log(record.levelno, "%s: %s", record.name, record.getMessage())


@contextmanager
def duban_warnings_in_run_log() -> Iterator[None]:
    """Inside a flow run: warnings and errors of Duban's own loggers go to the run's log too."""
    handler = _ToRunLog(get_run_logger())
    logger = logging.getLogger(DUBAN_LOGGER)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def count_rows(counts: Mapping[str, Any], labels: Labels, prefix: str = "") -> list[dict[str, Any]]:
    """One row per count, nested counts flattened (steps.remind), each with its Chinese label."""
    rows: list[dict[str, Any]] = []
    for key, value in counts.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows += count_rows(value, labels, prefix=f"{name}.")
            continue
        label = labels.of("flows", name) if name in labels.flows else labels.of("actions", key)
        rows.append({"项目": label, "key": name, "数量": value})
    return rows


def publish_counts(flow_name: str, counts: Mapping[str, Any], labels: Labels) -> None:
    """The run's counts as a table artifact keyed by the flow (its history is the flow's runs)."""
    create_table_artifact(table=count_rows(counts, labels), key=f"{flow_name}-counts",
                          description=labels.of("flows", flow_name))


def undelivered(result: Mapping[str, int], labels: Labels) -> State | None:
    """A Failed state when mail had to wait for the server (it stays queued and is retried by the
    next run); None when everything due was sent or refused for good (those are listed by
    `duban notify list --failed`)."""
    if not result.get("retried"):
        return None
    message = labels.of("flows", "undelivered").format(**result)
    return Failed(message=message, data=dict(result))
