"""Self-healing runs: Prefect automations that crash a run whose heartbeats stopped, then retry it.

A flow run's process sends a heartbeat event every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds
(Prefect's minimum is 30). When a worker dies with its run, nothing else ends that run: it stays
Running and holds a slot of its deployment's concurrency limit. Two automations, created on the
Prefect server by `python -m duban.flows.serve` (so by `scripts/prefect-stack start`), mend it:

- "duban: crash runs whose heartbeats stopped": a run of the engine (tag `duban`) that started or
  sent a heartbeat and then sent neither another heartbeat nor a final state within
  `crash_after` is set Crashed; leaving Running releases its concurrency slot.
- "duban: retry crashed runs": a Crashed run of the engine whose run count is at most `retries`
  is set AwaitingRetry (Scheduled), the state Prefect's own retries use: the same run, with the
  same parameters, is taken by the next free worker. A run that keeps crashing stays Crashed after
  `retries` retries, for a person to look at (docs/engine.md "Operating the stack").

Every flow the stack deploys is idempotent (each says why in its docstring), so a run retried
after a crash finishes what the crashed one left, and does nothing twice. Applying is idempotent:
an automation of the same name is updated, never duplicated.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

ENGINE_TAG = "duban"
CRASH = "duban: crash runs whose heartbeats stopped"
RETRY = "duban: retry crashed runs"
FINAL_EVENTS = ("Completed", "Failed", "Cancelled", "Crashed")


def automations(*, crash_after: dt.timedelta, retries: int) -> list[Any]:
    """The two automations (prefect AutomationCore), for runs tagged ENGINE_TAG."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    engine_runs: dict[str, str | list[str]] = {"prefect.resource.role": "tag",
                                               "prefect.resource.id": f"prefect.tag.{ENGINE_TAG}"}
    window = f"{crash_after.total_seconds():.0f} s"
    crash = AutomationCore(
        name=CRASH,
        description=f"A run of the engine with no heartbeat for {window} is Crashed.",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related=engine_runs,
            after={"prefect.flow-run.heartbeat", "prefect.flow-run.Running"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{name}" for name in FINAL_EVENTS)},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=crash_after,
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, name=None, force=False,
                                    message=f"No heartbeat for {window}: "
                                            "its worker or process died (duban: crash runs whose "
                                            "heartbeats stopped)")],
    )
    retry = AutomationCore(
        name=RETRY,
        description=f"A Crashed run of the engine is run again, up to {retries} times.",
        trigger=EventTrigger(
            # run-count counts the attempts that reached Running (0: it crashed before).
            match={"prefect.resource.id": "prefect.flow-run.*",
                   "prefect.run-count": [str(n) for n in range(retries + 1)]},
            match_related=engine_runs,
            expect={"prefect.flow-run.Crashed"},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=dt.timedelta(0),
        ),
        actions=[ChangeFlowRunState(state=StateType.SCHEDULED, name="AwaitingRetry", force=False,
                                    message="Retried after a crash (duban: retry crashed runs)")],
    )
    return [crash, retry]


def apply_automations(client: Any, wanted: list[Any]) -> list[str]:
    """Create each automation, or update the one of its name (extra copies are deleted).

    `client` is a SyncPrefectClient; returns the names applied."""
    for automation in wanted:
        found = client.read_automations_by_name(automation.name)
        if not found:
            client.create_automation(automation)
            continue
        client.update_automation(found[0].id, automation)
        for extra in found[1:]:
            client.delete_automation(extra.id)
    return [automation.name for automation in wanted]
