"""The peer benchmark's engines take the same case path and finish it right; correctness, never time.

bench/peer_bench.py prints Duban's speed against SpiffWorkflow's. A ratio means nothing if either
side skipped a step or lost a return, so these run a few instances through each and read the
outcome back from the database. SpiffWorkflow comes from the `bench` extra (scripts/bootstrap
installs it): without it the Spiff tests fail and say what to install, rather than skip quietly.
"""

from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy.engine import Engine

from bench.peer_bench import COMPLAINT, DUBAN_PATH, SPIFF_PATH, run_duban, run_spiff


@pytest.fixture
def spiff() -> None:
    """Fails (does not skip) when SpiffWorkflow is missing: the benchmark needs it."""
    if importlib.util.find_spec("SpiffWorkflow") is None:
        pytest.fail("SpiffWorkflow is not installed; install the bench extra: "
                    "pip install -e '.[test,bench]' (scripts/bootstrap does this)", pytrace=False)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_both_engines_are_given_the_same_path() -> None:
    # Duban's review is two actions; the BPMN has one review task whose `approved` picks the way.
    as_bpmn = {"send_back": "review", "approve": "review"}
    assert [as_bpmn.get(action, action) for action, _, _ in DUBAN_PATH] == [name for name, _ in SPIFF_PATH]
    assert [data.get("approved") for name, data in SPIFF_PATH if name == "review"] == [False, True]


def test_duban_closes_each_case_after_exactly_one_return(engine: Engine) -> None:
    run = run_duban(instances=3, url=_url(engine))
    assert run.outcomes == [{"state": "closed", "returns": 1}] * 3


@pytest.mark.parametrize("reload", [False, True], ids=["held", "reload"])
def test_spiff_completes_each_instance_after_exactly_one_return(
    spiff: None, engine: Engine, reload: bool
) -> None:
    run = run_spiff(instances=3, url=_url(engine), reload=reload)
    assert run.outcomes == [{"state": "completed", "status": "completed", "reviews": 2}] * 3
    assert run.stored_bytes > 0


def test_spiff_arms_the_deadline_timer_only_while_the_report_is_pending(spiff: None) -> None:
    from bench.peer_bench import complete, load_spec, start_workflow

    workflow = start_workflow(load_spec(), COMPLAINT)
    assert workflow.waiting_events() == []
    complete(workflow, "transfer", {"unit": "GS-LZ-CG-GOV"})
    [timer] = workflow.waiting_events()
    assert timer.event_type == "DurationTimerEventDefinition"
    assert timer.name == "handling deadline"
    complete(workflow, "submit_report", {"text": "报告"})
    assert workflow.waiting_events() == []
    complete(workflow, "review", {"approved": False})
    assert len(workflow.waiting_events()) == 1  # returned: handling again, the timer again
