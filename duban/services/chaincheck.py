"""Checking one case: its chain of MACs, the rows its events name, and its row against its events.

Pure: given the case row, its events and its covered rows as read from the database, it names
each thing that differs from what the events, under their MACs, say. duban.services.integrity
reads the database in chunks and calls it per case.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from duban.services.audit import FACT_FIELDS, facts_like, facts_of, legacy_hash, message_of, split_facts
from duban.services.auditkeys import KNOWN_ALGORITHMS, KeyRing
from duban.services.auditrows import covered_tables, row_digest, row_key
from duban.services.auditsaid import action_word, said, table_word


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


class Event(NamedTuple):
    """The fields of an audit event in the order verify reads them (duban.services.verifyread).

    check_case takes each event as a plain tuple in this order (a tuple per event straight from
    the driver costs nothing more; indexing it is as fast as naming a field): `at` and `data`
    as stored, turned into the canonical text the MAC covers by the `Macs` converters.
    """

    id: int
    case_id: int
    seq: int
    actor: str
    actor_role: str
    action: str
    from_state: str | None
    to_state: str
    reason: str
    prev_hash: str
    hash: str
    alg: str
    key_id: str
    facts: str
    rows: str
    at: Any
    data: Any


(ID, CASE_ID, SEQ, ACTOR, ACTOR_ROLE, ACTION, FROM_STATE, TO_STATE, REASON, PREV_HASH, HASH, ALG,
 KEY_ID, FACTS, ROWS, AT, DATA) = range(len(Event._fields))


def _as_is(value: Any) -> Any:
    return value


class Macs:
    """The MACs of one verify run: a keyed HMAC per case and algorithm, copied for each event.

    Copying a keyed HMAC is cheaper than keying a new one, and a case has several events.
    `at` and `data` turn a stored time and `data` into their canonical text (utc_iso,
    canonical_data); by default they are taken to be that text already.
    """

    def __init__(self, keys: KeyRing, *, at: Callable[[Any], str] = _as_is,
                 data: Callable[[Any], str] = _as_is) -> None:
        self.keys = keys
        self.at, self.data = at, data
        self._case: tuple[Any, str, str] | None = None
        self._keyed: hmac.HMAC | None = None

    def matches(self, ev: Sequence[Any]) -> tuple[bool, str]:
        """(MAC matches, why when the MAC cannot even be computed: "unknown_algorithm" or
        "unknown_key", the finding's kind and its text's in config/audit_findings.toml)."""
        alg = ev[ALG]
        if alg == "":
            return _legacy_matches(ev, self.at(ev[AT]), self.data(ev[DATA])), ""
        if alg not in KNOWN_ALGORITHMS:
            return False, "unknown_algorithm"
        which = (ev[CASE_ID], ev[KEY_ID], alg)
        if which != self._case:
            case_key = self.keys.case_key(ev[KEY_ID], alg, ev[CASE_ID])
            if case_key is None:
                return False, "unknown_key"
            self._case, self._keyed = which, hmac.new(case_key, digestmod=alg)
        assert self._keyed is not None
        h = self._keyed.copy()
        h.update(message_of(ev[PREV_HASH], alg, ev[KEY_ID], ev[CASE_ID], ev[SEQ], self.at(ev[AT]),
                            ev[ACTOR], ev[ACTOR_ROLE], ev[ACTION], ev[FROM_STATE], ev[TO_STATE],
                            ev[REASON], self.data(ev[DATA]), ev[FACTS], ev[ROWS]))
        return h.hexdigest() == ev[HASH], ""


def _legacy_matches(ev: Sequence[Any], at_text: str, data_text: str) -> bool:
    try:
        at, data = dt.datetime.fromisoformat(at_text), json.loads(data_text)
    except (TypeError, ValueError):  # a time or data verify could not read: not what was sealed
        return False
    return legacy_hash(prev_hash=ev[PREV_HASH], case_id=ev[CASE_ID], seq=ev[SEQ], at=at, actor=ev[ACTOR],
                       actor_role=ev[ACTOR_ROLE], action=ev[ACTION], from_state=ev[FROM_STATE],
                       to_state=ev[TO_STATE], reason=ev[REASON], data=data) == ev[HASH]


def check_case(macs: Macs, case: Mapping[str, Any], events: Sequence[Sequence[Any]],
               rows: Mapping[RowKey, Mapping[str, Any]], own: set[RowKey], *,
               accept_unkeyed: bool = False) -> list[Finding]:
    """What is wrong with one case (empty: nothing).

    `case` and `rows` hold times and dates as the canonical text events record
    (duban.services.integrity reads them so). `rows` holds the covered rows the events may name
    (those tied to the case and those they reference), `own` the keys of the rows tied to the
    case by their case column. An event without a key is a finding unless `accept_unkeyed` (a
    database from before keyed chains, whose old events are only as safe as the checkpoint
    taken when it was upgraded).
    """
    number = case["number"]
    found: list[Finding] = []

    def say(problem: str, kind: str, seq: int | None = None) -> None:
        found.append(Finding(number, problem, kind, seq))

    def event(seq: int, action: str) -> str:
        return said("case.event", seq=seq, action=action_word(action))

    prev, expected = "", 1
    keyed_from_start = bool(events) and events[0][ALG] != ""
    strongest = ""
    last_facts: tuple[int, str] | None = None
    last_state: tuple[int, str] | None = None
    named: dict[RowKey, tuple[int, str, str, str]] = {}  # row → (seq, digest, action, alg)
    for ev in events:
        seq, action, alg = ev[SEQ], ev[ACTION], ev[ALG]
        if seq != expected:
            if seq < expected:
                say(said("case.repeated", event=event(seq, action), before=expected - 1), "reordered", seq)
                continue
            say(said("case.missing", seq=expected, found=seq) if seq == expected + 1 else
                said("case.missing_run", first=expected, last=seq - 1, found=seq), "missing", expected)
        gap = seq > expected
        ok, why = macs.matches(ev)
        if ok and alg and alg == strongest and ev[PREV_HASH] == prev:
            pass  # the common case, settled without the checks below
        elif why:
            say(said(f"case.{why}", event=event(seq, action), alg=alg, key=ev[KEY_ID]),
                "unknown_key" if why == "unknown_key" else "edited", seq)
        elif alg == "" and (ev[FACTS] or ev[ROWS] or ev[KEY_ID]):
            say(said("case.downgraded_fields", event=event(seq, action)), "downgraded", seq)
            ok = False
        elif alg == "" and not accept_unkeyed:
            say(said("case.unkeyed", event=event(seq, action)), "unkeyed", seq)
        elif alg == "" and strongest:
            say(said("case.unkeyed_after_keyed", event=event(seq, action)), "downgraded", seq)
        elif alg == "sha256" and strongest == "sm3":
            say(said("case.weaker_algorithm", event=event(seq, action)), "downgraded", seq)
        elif ev[PREV_HASH] != prev and not gap:
            if ev[PREV_HASH] in {other[HASH] for other in events}:
                say(said("case.reordered", event=event(seq, action)), "reordered", seq)
            else:
                say(said("case.rewritten", event=event(seq, action), before=seq - 1), "edited", seq)
        elif not ok:
            say(said("case.altered", event=event(seq, action)), "edited", seq)
        elif alg:
            strongest = strongest if strongest == "sm3" else alg
        if ok and not why:
            last_state = (seq, ev[TO_STATE])
            if ev[FACTS]:
                last_facts = (seq, ev[FACTS])
            if ev[ROWS]:
                for table, key, digest in json.loads(ev[ROWS]):
                    named[row_key(table, key, case["id"])] = (seq, digest, action, alg)
        prev, expected = ev[HASH], seq + 1
    last = expected - 1
    if case["audit_seq"] != last or case["audit_hash"] != prev:
        if case["audit_seq"] > last:
            say(said("case.missing_after", last=last, head=case["audit_seq"]), "missing", last + 1)
        else:
            say(said("case.head_rewritten", head=case["audit_seq"], last=last), "row_differs")
    if last_facts is not None:
        seq, facts = last_facts
        now_text = facts_like(case, facts)
        if now_text != facts:
            recorded = split_facts(facts)
            now = split_facts(now_text) if recorded else split_facts(facts_of(case))
            for name in FACT_FIELDS[:len(recorded)] if recorded else FACT_FIELDS:
                if recorded.get(name) != now.get(name):
                    say(said("case.row_differs", field=name, now=repr(now.get(name)), seq=seq,
                             said=repr(recorded.get(name))), "row_differs", seq)
    elif last_state is not None and last_state[1] != case["state"]:
        say(said("case.row_differs", field="state", now=repr(case["state"]), seq=last_state[0],
                 said=repr(last_state[1])), "row_differs", last_state[0])
    covered = covered_tables()
    for (table, key), (seq, digest, action, alg) in sorted(named.items()):
        row = rows.get((table, key))
        key = key.partition(":")[2] or key  # a natural key is shown without its case
        if row is None:
            say(said("case.row_deleted", table=table_word(table), key=key, seq=seq,
                     action=action_word(action)),
                "row_deleted", seq)
        elif row_digest(covered[table], row, alg) != digest:
            say(said("case.row_edited", table=table_word(table), key=key, seq=seq,
                     action=action_word(action)),
                "row_edited", seq)
    if keyed_from_start:
        for table, key in sorted(own - named.keys()):
            if covered[table].needs_event(rows[table, key]):
                key = key.partition(":")[2] or key
                say(said("case.row_added", table=table_word(table), key=key), "row_added")
    return found
