"""The healing automations, as built (the stack test, test_prefect_workers.py, watches them work)."""

from __future__ import annotations

import datetime as dt

import pytest

from duban.flows.healing import CRASH, ENGINE_TAG, RETRY, automations
from duban.flows.serve import main


def test_a_run_of_the_engine_is_crashed_after_its_window_without_a_heartbeat() -> None:
    crash, _ = automations(crash_after=dt.timedelta(seconds=90), retries=2)
    assert crash.name == CRASH and crash.trigger.posture == "Proactive"
    assert crash.trigger.within == dt.timedelta(seconds=90)
    assert "prefect.flow-run.heartbeat" in crash.trigger.after
    # A final state, or the next heartbeat, is what a live run sends in time.
    assert {"prefect.flow-run.heartbeat", "prefect.flow-run.Completed",
            "prefect.flow-run.Crashed"} <= crash.trigger.expect
    assert crash.trigger.match_related.root["prefect.resource.id"] == f"prefect.tag.{ENGINE_TAG}"
    assert crash.actions[0].state.value == "CRASHED"


@pytest.mark.parametrize("retries", [0, 1, 2, 5])
def test_a_crashed_run_is_retried_only_while_it_has_retries_left(retries: int) -> None:
    _, retry = automations(crash_after=dt.timedelta(seconds=90), retries=retries)
    assert retry.name == RETRY and retry.trigger.expect == {"prefect.flow-run.Crashed"}
    # run-count is the attempts that reached Running: the first attempt is 1.
    counts = retry.trigger.match.root["prefect.run-count"]
    assert counts == [str(n) for n in range(retries + 1)]
    assert (retry.actions[0].state.value, retry.actions[0].name) == ("SCHEDULED", "AwaitingRetry")


@pytest.mark.parametrize("args", [["--heartbeat", "10"], ["--heartbeat", "30", "--crash-after", "30"]])
def test_serve_refuses_heartbeats_prefect_cannot_send_or_a_window_every_run_would_miss(
        args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--pool", "duban", *args])
    assert "heartbeat" in capsys.readouterr().err
