"""The account record: who gave whom which role and org, renamed, disabled, enabled, reset a
password or ended someone's sessions, as one keyed chain beside the case trail.

Who sees complainants' identities follows from a user's role and org, so a change to an account
is recorded as a case action is: in the transaction that changes the user row, as an event whose
MAC (HMAC-SM3, else SHA-256, under the audit keys' `stream_key(…, "accounts")`, outside the
database) covers the previous event's MAC and every field, the account's facts after the change
included (id, role, org, display name, active). Never a password or its hash. The user row keeps
the number of its last event (`users.account_seq`), as a case row keeps its head.

`duban audit verify` checks the chain (`check`: numbering, order, MACs) and every user row
against its last event (a role rewritten in the database without an event shows); checkpoints
carry the chain's head (`head`), so a record cut back or rewritten with the key still shows.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from duban.models import AccountEvent, Org, User
from duban.services.audit import canonical_data, keys_of, utc_iso
from duban.services.auditkeys import KNOWN_ALGORITHMS, KeyRing, default_keyring
from duban.services.auditsaid import action_word, said
from duban.services.chaincheck import Finding
from duban.services.context import ServiceContext

STREAM = "accounts"
FACT_FIELDS = ("id", "role", "org_id", "display_name", "active")
_LOCK = 0x6475_6261_6E61  # PostgreSQL: one writer of the chain at a time (pg_advisory_xact_lock)

_EVENTS: Any = AccountEvent.__table__  # type: ignore[attr-defined]
_USERS: Any = User.__table__  # type: ignore[attr-defined]
_ORGS: Any = Org.__table__  # type: ignore[attr-defined]


def facts_of(user: Any) -> str:
    """A user's facts as an event fixes them (canonical JSON), from a row or a loaded User."""
    def get(name: str) -> Any:
        return user[name] if isinstance(user, Mapping) else getattr(user, name)

    return canonical_data({"id": int(get("id")), "role": str(get("role")), "org_id": int(get("org_id")),
                           "display_name": str(get("display_name")), "active": bool(get("active"))})


def message(*, prev_hash: str, alg: str, key_id: str, seq: int, at: str, actor: str, actor_role: str,
            action: str, username: str, data: str, facts: str) -> bytes:
    """The bytes an account event's MAC is taken over: every field, `at` and `data` as canonical text."""
    head = canonical_data([prev_hash, alg, key_id, seq, at, actor, actor_role, action, username])
    return f"{head[:-1]},{data},{canonical_data(facts)}]".encode()


def record(session: Session, user: User, *, action: str, actor: str, actor_role: str, at: dt.datetime,
           data: dict[str, Any] | None = None) -> None:
    """Append the next account event, in the transaction of `session` (which changed `user`,
    flushed: it has its id)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    _append(conn, keys_of(session), user, action=action, actor=actor, actor_role=actor_role, at=at,
            data=data or {})


def _append(conn: Connection, keys: KeyRing, user: Any, *, action: str, actor: str, actor_role: str,
            at: dt.datetime, data: dict[str, Any]) -> None:
    last = conn.execute(select(_EVENTS.c.seq, _EVENTS.c.hash).order_by(_EVENTS.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last is not None else (1, "")
    alg, kid = keys.alg, keys.current
    key = keys.stream_key(kid, alg, STREAM)
    assert key is not None
    facts = facts_of(user)
    body = message(prev_hash=prev, alg=alg, key_id=kid, seq=seq, at=utc_iso(at), actor=actor[:80],
                   actor_role=actor_role[:16], action=action, username=user.username,
                   data=canonical_data(data), facts=facts)
    conn.execute(_USERS.update().where(_USERS.c.id == user.id).values(account_seq=seq))
    conn.execute(_EVENTS.insert().values(
        seq=seq, at=at, actor=actor[:80], actor_role=actor_role[:16], action=action,
        username=user.username, data=data, facts=facts, prev_hash=prev,
        hash=hmac.new(key, body, alg).hexdigest(), alg=alg, key_id=kid))


def record_existing(conn: Connection, *, at: dt.datetime, keys: KeyRing | None = None) -> int:
    """An `account_recorded` event for every user no event names yet: the accounts as they were
    when the record began (migration 0024). How many."""
    named = set(conn.execute(select(_EVENTS.c.username).distinct()).scalars())
    users = [row for row in conn.execute(select(_USERS).order_by(_USERS.c.id)) if row.username not in named]
    if users:
        ring = keys or default_keyring()
        for user in users:
            _append(conn, ring, user, action="account_recorded", actor="(migration 0024)",
                    actor_role="operator", at=at, data={})
    return len(users)


def head(conn: Connection) -> tuple[int, str]:
    """(sequence number, MAC) of the record's last event; (0, "") while it is empty."""
    last = conn.execute(select(_EVENTS.c.seq, _EVENTS.c.hash).order_by(_EVENTS.c.seq.desc()).limit(1)).first()
    return (int(last[0]), str(last[1])) if last is not None else (0, "")


def engine_head(engine: Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        return head(conn)


def history(ctx: ServiceContext, username: str) -> list[dict[str, Any]]:
    """Every event of one account, oldest first: what the user's page and `duban user history` show."""
    query = (select(_EVENTS.c.seq, _EVENTS.c.at, _EVENTS.c.actor, _EVENTS.c.actor_role, _EVENTS.c.action,
                    _EVENTS.c.data).where(_EVENTS.c.username == username[:60]).order_by(_EVENTS.c.seq))
    with ctx.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def org_codes(conn: Connection, *ids: int) -> dict[int, str]:
    return {row.id: row.code for row in conn.execute(select(_ORGS.c.id, _ORGS.c.code)
                                                     .where(_ORGS.c.id.in_(ids)))}


# -- checking ------------------------------------------------------------------------------------

def check(conn: Connection, keys: KeyRing, *,
          checkpoint: Mapping[str, Any] | None = None) -> tuple[int, list[Finding]]:
    """(events checked, findings): the chain's numbering, order and MACs; every user row against
    the last event naming it; the chain against the checkpoint line `checkpoint` (if it has a head)."""
    found: list[Finding] = []

    def say(where: str, problem: str, kind: str, seq: int | None = None) -> None:
        found.append(Finding(where, problem, kind, seq))

    record = said("where.accounts")  # a finding about the record as a whole

    events = list(conn.execute(select(_EVENTS).order_by(_EVENTS.c.seq, _EVENTS.c.id)).mappings())
    prev, expected = "", 1
    last: dict[str, tuple[int, str, str]] = {}  # username → (seq, facts, action)
    hashes = {ev["hash"] for ev in events}
    for ev in events:
        seq, action = ev["seq"], ev["action"]
        if seq != expected:
            if seq < expected:
                say(record, said("accounts.repeated", event=_named(ev), before=expected - 1),
                    "reordered", seq)
                continue
            say(record, said("accounts.missing", seq=expected, found=seq) if seq == expected + 1 else
                said("accounts.missing_run", first=expected, last=seq - 1, found=seq), "missing", expected)
        ok, why = _matches(keys, ev)
        if why:
            say(record, said(f"accounts.{why}", event=_named(ev), alg=ev["alg"], key=ev["key_id"]),
                "unknown_key" if why == "unknown_key" else "edited", seq)
        elif not ok:
            say(record, said("accounts.altered", event=_named(ev)), "edited", seq)
        elif ev["prev_hash"] != prev and seq == expected:
            kind = "reordered" if ev["prev_hash"] in hashes else "edited"
            say(record, said("accounts.reordered" if kind == "reordered" else "accounts.rewritten",
                             event=_named(ev), before=seq - 1), kind, seq)
        if ok and not why:
            last[ev["username"]] = (seq, ev["facts"], action)
        prev, expected = ev["hash"], seq + 1
    for user in conn.execute(select(_USERS).order_by(_USERS.c.username)).mappings():
        where = said("where.user", username=user["username"])
        recorded = last.pop(user["username"], None)
        if recorded is None:
            say(where, said("accounts.not_recorded"), "row_added")
            continue
        seq, facts, action = recorded
        if user["account_seq"] > seq:
            say(where, said("accounts.missing_after", seq=seq, head=user["account_seq"]), "missing", seq + 1)
        elif user["account_seq"] != seq:
            say(where, said("accounts.head_rewritten", head=user["account_seq"], seq=seq), "row_differs", seq)
        if facts_of(user) != facts:
            before, now = _loads(facts), _loads(facts_of(user))
            for name in FACT_FIELDS:
                if before.get(name) != now.get(name):
                    say(where, said("accounts.row_differs", field=name, now=repr(now.get(name)), seq=seq,
                                    action=action_word(action), said=repr(before.get(name))),
                        "row_differs", seq)
    for username, (seq, _, action) in sorted(last.items()):
        say(said("where.user", username=username),
            said("accounts.row_deleted", seq=seq, action=action_word(action)), "row_deleted", seq)
    if checkpoint is not None and isinstance(checkpoint.get("accounts"), Mapping):
        n, seen = checkpoint.get("n"), checkpoint["accounts"]
        at = {ev["seq"]: ev["hash"] for ev in events}
        if seen.get("seq") and seen["seq"] not in at:
            say(record, said("accounts.went_backwards", n=n, seen=seen["seq"], last=max(at, default=0)),
                "head_backwards", seen["seq"])
        elif seen.get("seq") and at[seen["seq"]] != seen.get("head"):
            say(record, said("accounts.changed", seq=seen["seq"], n=n), "changed_since_checkpoint",
                seen["seq"])
    return len(events), found


def _named(ev: Any) -> str:
    """An account event as a finding names it (worked out only for a finding)."""
    return said("accounts.event", seq=ev["seq"], action=action_word(ev["action"]), username=ev["username"])


def _loads(facts: str) -> dict[str, Any]:
    try:
        value = json.loads(facts)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _matches(keys: KeyRing, ev: Any) -> tuple[bool, str]:
    alg = ev["alg"]
    if alg not in KNOWN_ALGORITHMS:
        return False, "unknown_algorithm"
    key = keys.stream_key(ev["key_id"], alg, STREAM)
    if key is None:
        return False, "unknown_key"
    try:
        body = message(prev_hash=ev["prev_hash"], alg=alg, key_id=ev["key_id"], seq=ev["seq"],
                       at=utc_iso(ev["at"]), actor=ev["actor"], actor_role=ev["actor_role"],
                       action=ev["action"], username=ev["username"], data=canonical_data(ev["data"]),
                       facts=ev["facts"])
    except (TypeError, ValueError, AttributeError):
        return False, ""
    return hmac.compare_digest(hmac.new(key, body, alg).hexdigest(), ev["hash"]), ""
