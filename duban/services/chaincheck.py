"""Checking one case: its chain of MACs, the rows its events name, and its row against its events.

Pure: given the case row, its events and its covered rows as read from the database, it names
each thing that differs from what the events, under their MACs, say. duban.services.integrity
reads the database in chunks and calls it per case.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from duban.services.audit import FACT_FIELDS, facts_of, legacy_hash, mac, message, split_facts
from duban.services.auditkeys import KNOWN_ALGORITHMS, KeyRing
from duban.services.auditrows import covered_tables, row_digest, row_key


@dataclass(frozen=True)
class Finding:
    """One thing verify found, named so a person can look it up: case, event, what differs."""

    case_number: str
    problem: str
    kind: str = "edited"
    seq: int | None = None

    def __str__(self) -> str:
        return f"{self.case_number}: {self.problem}"


RowKey = tuple[str, str]  # (table, key as text)


def _event_mac(keys: KeyRing, ev: Mapping[str, Any]) -> tuple[bool, str]:
    """(MAC matches, problem when the MAC cannot even be computed)."""
    alg = ev["alg"]
    if alg == "":
        expected = legacy_hash(prev_hash=ev["prev_hash"], case_id=ev["case_id"], seq=ev["seq"],
                               at=ev["at"], actor=ev["actor"], actor_role=ev["actor_role"],
                               action=ev["action"], from_state=ev["from_state"], to_state=ev["to_state"],
                               reason=ev["reason"], data=ev["data"])
        return expected == ev["hash"], ""
    if alg not in KNOWN_ALGORITHMS:
        return False, f"names the unknown MAC algorithm {alg!r}"
    case_key = keys.case_key(ev["key_id"], alg, ev["case_id"])
    if case_key is None:
        return False, f"names key {ev['key_id']!r}, which is not among the audit keys (unknown key)"
    body = message(prev_hash=ev["prev_hash"], alg=alg, key_id=ev["key_id"], case_id=ev["case_id"],
                   seq=ev["seq"], at=ev["at"], actor=ev["actor"], actor_role=ev["actor_role"],
                   action=ev["action"], from_state=ev["from_state"], to_state=ev["to_state"],
                   reason=ev["reason"], data=ev["data"], facts=ev["facts"], rows=ev["rows"])
    return mac(case_key, alg, body) == ev["hash"], ""


def check_case(keys: KeyRing, case: Mapping[str, Any], events: Sequence[Mapping[str, Any]],
               rows: Mapping[RowKey, Mapping[str, Any]], own: set[RowKey], *,
               accept_unkeyed: bool = False) -> list[Finding]:
    """What is wrong with one case (empty: nothing).

    `rows` holds the covered rows the events may name (those tied to the case and those they
    reference), `own` the keys of the rows tied to the case by their case column. An event
    without a key is a finding unless `accept_unkeyed` (a database from before keyed chains,
    whose old events are only as safe as the checkpoint taken when it was upgraded).
    """
    number = case["number"]
    found: list[Finding] = []

    def say(problem: str, kind: str, seq: int | None = None) -> None:
        found.append(Finding(number, problem, kind, seq))

    hashes = {ev["hash"] for ev in events}
    prev, expected = "", 1
    keyed_from_start = bool(events) and events[0]["alg"] != ""
    strongest = ""
    last_facts: tuple[int, str] | None = None
    last_state: tuple[int, str] | None = None
    named: dict[RowKey, tuple[int, str, str, str]] = {}  # row → (seq, digest, action, alg)
    for ev in events:
        seq, action = ev["seq"], ev["action"]
        if seq < expected:
            say(f"event {seq} ({action}) appears again after event {expected - 1} (duplicated or "
                "reordered)", "reordered", seq)
            continue
        if seq > expected:
            say(f"event {expected} is missing (found {seq})" if seq == expected + 1 else
                f"events {expected}–{seq - 1} are missing (found {seq})", "missing", expected)
        gap = seq > expected
        ok, why = _event_mac(keys, ev)
        alg = ev["alg"]
        if why:
            say(f"event {seq} ({action}) {why}", "unknown_key" if "key" in why else "edited", seq)
        elif alg == "" and (ev["facts"] or ev["rows"] or ev["key_id"]):
            say(f"event {seq} ({action}) carries no key but a keyed event's fields (downgraded)",
                "downgraded", seq)
            ok = False
        elif alg == "" and not accept_unkeyed:
            say(f"event {seq} ({action}) carries no key (from before keyed chains, or rewritten)",
                "unkeyed", seq)
        elif alg == "" and strongest:
            say(f"event {seq} ({action}) carries no key after keyed events (downgraded)",
                "downgraded", seq)
        elif alg == "sha256" and strongest == "sm3":
            say(f"event {seq} ({action}) uses HMAC-SHA-256 after HMAC-SM3 events (downgraded)",
                "downgraded", seq)
        elif ev["prev_hash"] != prev and not gap:
            if ev["prev_hash"] in hashes:
                say(f"event {seq} ({action}) is out of order (reordered)", "reordered", seq)
            else:
                say(f"event {seq} ({action}) does not follow event {seq - 1} (the chain was rewritten)",
                    "edited", seq)
        elif not ok:
            say(f"event {seq} ({action}) was altered", "edited", seq)
        elif alg:
            strongest = strongest if strongest == "sm3" else alg
        if ok and not why:
            last_state = (seq, ev["to_state"])
            if ev["facts"]:
                last_facts = (seq, ev["facts"])
            if ev["rows"]:
                for table, key, digest in json.loads(ev["rows"]):
                    named[row_key(table, key, case["id"])] = (seq, digest, action, alg)
        prev, expected = ev["hash"], seq + 1
    last = expected - 1
    if case["audit_seq"] != last or case["audit_hash"] != prev:
        if case["audit_seq"] > last:
            say(f"events after {last} are missing (case has {case['audit_seq']})", "missing", last + 1)
        else:
            say(f"the case's head names event {case['audit_seq']} but its trail has {last} "
                "(head rewritten)", "row_differs")
    if last_facts is not None:
        seq, facts = last_facts
        said, now = split_facts(facts), split_facts(facts_of(case))
        for name in FACT_FIELDS:
            if said.get(name) != now.get(name):
                say(f"case row differs from its events: {name} is {now.get(name)!r}, event {seq} says "
                    f"{said.get(name)!r}", "row_differs", seq)
    elif last_state is not None and last_state[1] != case["state"]:
        say(f"case row differs from its events: state is {case['state']!r}, event {last_state[0]} says "
            f"{last_state[1]!r}", "row_differs", last_state[0])
    covered = covered_tables()
    for (table, key), (seq, digest, action, alg) in sorted(named.items()):
        row = rows.get((table, key))
        key = key.partition(":")[2] or key  # a natural key is shown without its case
        if row is None:
            say(f"{table} {key}, written by event {seq} ({action}), is missing (deleted)",
                "row_deleted", seq)
        elif row_digest(covered[table], row, alg) != digest:
            say(f"{table} {key} differs from what event {seq} ({action}) recorded (edited)",
                "row_edited", seq)
    if keyed_from_start:
        for table, key in sorted(own - named.keys()):
            if covered[table].needs_event(rows[table, key]):
                key = key.partition(":")[2] or key
                say(f"{table} {key} is named by no event (added without an action)", "row_added")
    return found
