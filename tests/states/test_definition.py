"""The machine's definition is checked the way python-statemachine checks its machines."""

from __future__ import annotations

from duban.config.policy import load_labels, load_policy
from duban.services.forms import FORMS
from duban.services.handlers import HANDLERS
from duban.states.definition import (
    FINAL_STATES,
    HANDLING_STATES,
    REFERRAL_ACTIONS,
    REVIEW_DECISIONS,
    REVIEW_REQUESTS,
    REVIEW_STATES,
    TRANSITIONS,
    CaseState,
)
from duban.states.diagram import to_dot, to_mermaid
from duban.states.machine import MACHINE, triggers


def _edges() -> list[tuple[str, str | None, str]]:
    out = []
    for t in TRANSITIONS:
        for source in t["source"] if isinstance(t["source"], list) else [t["source"]]:
            out.append((CaseState(source).value, t["dest"] and CaseState(t["dest"]).value, t["trigger"]))
    return out


def test_every_state_is_reachable_from_received() -> None:
    seen = {CaseState.RECEIVED.value}
    frontier = [CaseState.RECEIVED.value]
    while frontier:
        state = frontier.pop()
        for source, dest, _ in _edges():
            if source == state and dest and dest not in seen:
                seen.add(dest)
                frontier.append(dest)
    assert seen == {s.value for s in CaseState}


def test_no_open_state_is_a_trap() -> None:
    for state in CaseState:
        if state in FINAL_STATES:
            continue
        leaving = [d for s, d, _ in _edges() if s == state and d and d != state]
        assert leaving, f"{state} has no way out"


def test_closed_is_left_only_by_reopening_on_revisit_or_a_review_request() -> None:
    leaving = {trigger for source, dest, trigger in _edges()
               if source == "closed" and dest and dest != source}
    assert leaving == {"reopen", *REVIEW_REQUESTS.values()}
    # A referral whose unit finished first goes on beside the closed case: its steps stay inside.
    assert set(triggers(CaseState.CLOSED)) == {
        "reopen", *REVIEW_REQUESTS.values(), *REFERRAL_ACTIONS} - {"refer"}


def test_a_review_is_asked_for_after_the_reply_and_decided_back_to_the_unit_or_closed() -> None:
    for level, state in REVIEW_STATES.items():
        asked = {(s, d) for s, d, t in _edges() if t == REVIEW_REQUESTS[level]}
        assert asked == {("verified", state.value), ("closed", state.value)}
        decided = {d for s, d, t in _edges() if t == REVIEW_DECISIONS[level]}
        assert decided == {"returned", "closed"}
        assert set(triggers(state)) - set(REFERRAL_ACTIONS) == {REVIEW_DECISIONS[level], "remind_review"}


def test_refer_leaves_received_every_handling_state_and_reported() -> None:
    for state in (*HANDLING_STATES, CaseState.RECEIVED, CaseState.REPORTED):
        assert "refer" in triggers(state), state
    assert "refer" not in triggers(CaseState.VERIFIED)
    assert "refer" not in triggers(CaseState.REFERRED)


def test_every_trigger_has_a_form_a_handler_roles_and_a_label() -> None:
    policy, labels = load_policy(), load_labels()
    defined = {t["trigger"] for t in TRANSITIONS}
    assert defined == set(FORMS) == set(HANDLERS)
    for trigger in defined | {"register"}:
        assert policy.roles.get(trigger), f"no roles for {trigger}"
        assert trigger in labels.actions, f"no label for {trigger}"


def test_every_state_has_a_chinese_label() -> None:
    labels = load_labels()
    assert set(labels.states) >= {s.value for s in CaseState}


def test_the_machine_has_no_automatic_back_doors() -> None:
    assert not any(name.startswith("to_") for name in MACHINE.events)


def test_the_five_dispositions_and_decline_leave_received() -> None:
    assert set(triggers(CaseState.RECEIVED)) == {
        "transfer", "supervise", "key_supervise", "escalate", "refer", "decline"}


def test_a_declined_case_can_only_be_reinstated() -> None:
    assert triggers(CaseState.NOT_ACCEPTED) == ["reinstate"]


def test_diagrams_name_every_transition() -> None:
    mermaid, dot = to_mermaid(), to_dot()
    for source, dest, trigger in _edges():
        assert f"{source} --> {dest or source} : {trigger}" in mermaid
        assert f"{source} -> {dest or source}" in dot
