"""Signed checkpoints of every case's chain head, kept outside the database.

A checkpoint is one line appended to `checkpoints.jsonl` in the audit folder
($DUBAN_DATA_DIR/audit by default): its number, time, case and event counts, the Merkle root over
every case's head (case id, number, sequence number, MAC) and the digest of the line before, signed
with an Ed25519 key kept in the config folder, never in the database. The heads themselves go to a
file of their own (heads/NNNNNN.tsv.gz), whose digest the line carries. Anyone with the public key
(checkpoint-key.pub beside the file) can check a line; verify compares the database with the last
one: no case vanished, no head went backwards, no event before it changed. The line also carries
the head of the account record (`accounts`: sequence number and MAC, services/accountaudit.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.engine import Engine

from duban.config.settings import Settings, get_settings
from duban.models import AccountEvent, Case
from duban.services.accountaudit import engine_head
from duban.services.auditkeys import MAC_ALGORITHM
from duban.services.auditsaid import said
from duban.services.dbname import database_name as name_of_url
from duban.services.dbname import same_database

log = logging.getLogger(__name__)
LOG = "checkpoints.jsonl"
PUBLIC = "checkpoint-key.pub"
_CASES = Case.__table__  # type: ignore[attr-defined]
_ACCOUNTS = AccountEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Place:
    """Where checkpoints are written and with which signing key."""

    folder: Path
    key_file: Path

    @classmethod
    def of(cls, settings: Settings | None = None) -> Place:
        settings = settings or get_settings()
        return cls(settings.resolved_audit_dir, settings.resolved_checkpoint_key_file)

    @property
    def log(self) -> Path:
        return self.folder / LOG

    @property
    def public_file(self) -> Path:
        return self.folder / PUBLIC


# -- Merkle tree -------------------------------------------------------------------------------

def leaf(alg: str, case_id: int, number: str, seq: int, head: str) -> bytes:
    return hashlib.new(alg, b"\x00" + f"{case_id}\t{number}\t{seq}\t{head}".encode()).digest()


def _node(alg: str, left: bytes, right: bytes) -> bytes:
    return hashlib.new(alg, b"\x01" + left + right).digest()


def merkle_root(alg: str, leaves: list[bytes]) -> str:
    level = leaves or [hashlib.new(alg, b"").digest()]
    while len(level) > 1:
        level = [_node(alg, level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0].hex()


def merkle_proof(alg: str, leaves: list[bytes], index: int) -> list[list[str]]:
    """The siblings from leaf `index` to the root: [["L"|"R", hex], …] (the sibling's side)."""
    proof: list[list[str]] = []
    level = leaves
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(["L" if sibling < index else "R", level[sibling].hex()])
        level = [_node(alg, level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
        index //= 2
    return proof


def root_from_proof(alg: str, start: bytes, proof: list[list[str]]) -> str:
    node = start
    for side, sibling in proof:
        other = bytes.fromhex(sibling)
        node = _node(alg, other, node) if side == "L" else _node(alg, node, other)
    return node.hex()


# -- keys --------------------------------------------------------------------------------------

def signing_key(place: Place, *, create: bool) -> Ed25519PrivateKey | None:
    if not place.key_file.exists():
        if not create:
            return None
        place.key_file.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            fd = os.open(place.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return signing_key(place, create=False)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return key
    loaded = serialization.load_pem_private_key(place.key_file.read_bytes(), password=None)
    assert isinstance(loaded, Ed25519PrivateKey), f"{place.key_file} is not an Ed25519 key"
    return loaded


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key(place: Place) -> Ed25519PublicKey | None:
    """The key lines are checked with: the signing key's own half, else the published file."""
    private = signing_key(place, create=False)
    if private is not None:
        return private.public_key()
    if place.public_file.exists():
        loaded = serialization.load_pem_public_key(place.public_file.read_bytes())
        assert isinstance(loaded, Ed25519PublicKey)
        return loaded
    return None


def key_not_published(place: Place) -> str | None:
    """What is wrong when the signing key is not the one published beside it: a key made anew
    (the old one deleted, the log started over) would sign a clean record of its own, and lines
    are checked with the signing key's own half."""
    private = signing_key(place, create=False)
    if private is None or not place.public_file.exists():
        return None
    try:
        published = serialization.load_pem_public_key(place.public_file.read_bytes())
    except ValueError:
        return said("checkpoints.bad_public_key", public=place.public_file)
    if public_pem(private.public_key()) != public_pem(published):  # type: ignore[arg-type]
        return said("checkpoints.key_not_published", key=place.key_file, public=place.public_file)
    return None


def canonical(line: dict[str, Any]) -> bytes:
    """The signed bytes of a checkpoint line: every field but the signature, keys sorted."""
    return json.dumps({k: v for k, v in line.items() if k != "sig"}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()


def line_digest(line: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(line) + line.get("sig", "").encode()).hexdigest()


# -- writing -----------------------------------------------------------------------------------

def heads(engine: Engine) -> list[tuple[int, str, int, str]]:
    """(case id, number, sequence number, head MAC) of every case, by id."""
    query = (select(_CASES.c.id, _CASES.c.number, _CASES.c.audit_seq, _CASES.c.audit_hash)
             .order_by(_CASES.c.id))
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def read_log(place: Place) -> list[dict[str, Any]]:
    if not place.log.exists():
        return []
    lines = []
    for text in place.log.read_text(encoding="utf-8").splitlines():
        if text.strip():
            try:
                lines.append(json.loads(text))
            except ValueError:
                lines.append({"broken": text[:80]})
    return lines


def write_checkpoint(engine: Engine, place: Place | None = None, *,
                     now: dt.datetime | None = None, other_database: bool = False) -> dict[str, Any]:
    """Append a signed checkpoint of every chain head; the line written.

    The first checkpoint of a database the file has no line of (moved, copied or swapped in) is
    compared with the file's last checkpoint of any database, so that a copy cut short cannot
    start a clean record of its own; `other_database`: it is indeed another database, compared
    with nothing.
    """
    place = place or Place.of()
    key = signing_key(place, create=True)
    assert key is not None
    place.folder.mkdir(parents=True, exist_ok=True)
    (place.folder / "heads").mkdir(exist_ok=True)
    if not place.public_file.exists():
        place.public_file.write_bytes(public_pem(key.public_key()))
    previous = read_log(place)
    n = int(previous[-1].get("n", 0)) + 1 if previous else 1
    rows = heads(engine)
    db = database_name(engine)
    before = next((line for line in reversed(previous)
                   if same_database(line.get("db"), db) and "heads" in line), None)
    if before is None and not other_database:
        before = next((line for line in reversed(previous) if "heads" in line), None)
    alarms = _compare(place, before, rows) if before is not None else []
    accounts_seq, accounts_head = engine_head(engine)
    alarms += _compare_accounts(engine, before, accounts_seq) if before is not None else []
    mismatch = key_not_published(place)
    if mismatch is not None:  # signed into the line: a later key cannot launder it
        alarms.append(f"{said('where.checkpoints')}: {mismatch}")
    alg = MAC_ALGORITHM
    root = merkle_root(alg, [leaf(alg, *row) for row in rows])
    heads_name = f"heads/{n:06d}.tsv.gz"
    body = "".join(f"{cid}\t{number}\t{seq}\t{head}\n" for cid, number, seq, head in rows).encode()
    (place.folder / heads_name).write_bytes(gzip.compress(body, mtime=0))
    line: dict[str, Any] = {
        "n": n, "at": (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(), "alg": alg,
        "db": db,
        "cases": len(rows), "events": sum(row[2] for row in rows), "root": root,
        "heads": heads_name, "heads_digest": hashlib.sha256(body).hexdigest(),
        "prev": line_digest(previous[-1]) if previous else "",
        # What changed for the worse since the last checkpoint of this database, fixed under the
        # signature so that a later checkpoint cannot launder it.
        "alarms": alarms[:100], "alarm_count": len(alarms),
        "accounts": {"seq": accounts_seq, "head": accounts_head},
    }
    line["sig"] = base64.b64encode(key.sign(canonical(line))).decode()
    with open(place.log, "a", encoding="utf-8") as out:  # append only: earlier lines stay as signed
        out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return line


def _compare_accounts(engine: Engine, before: dict[str, Any], seq: int) -> list[str]:
    """The account record cut back or rewritten since checkpoint `before`."""
    seen = before.get("accounts")
    if not isinstance(seen, dict) or not seen.get("seq"):
        return []
    if seq < seen["seq"]:
        return [f"{said('where.accounts')}: "
                + said("checkpoints.accounts_backwards_since", n=before["n"], then=seen["seq"], now=seq)]
    with engine.connect() as conn:
        then = conn.execute(select(_ACCOUNTS.c.hash).where(_ACCOUNTS.c.seq == seen["seq"])).scalar()
    if then != seen.get("head"):
        return [f"{said('where.accounts')}: " + said("checkpoints.account_changed_since", seq=seen["seq"],
                                                       n=before["n"])]
    return []


def _compare(place: Place, before: dict[str, Any], rows: list[tuple[int, str, int, str]]) -> list[str]:
    """Cases gone and heads gone back (or rewritten at the same event) since checkpoint `before`."""
    now = {cid: (seq, head) for cid, _, seq, head in rows}
    alarms = []
    try:
        old = list(checkpoint_heads(place, before))
    except (OSError, ValueError):
        return [said("checkpoints.heads_unreadable", n=before.get("n"))]
    for cid, number, seq, head in old:
        current = now.get(cid)
        if current is None:
            alarms.append(f"{number}: " + said("checkpoints.case_missing_since", n=before["n"], events=seq))
        elif current[0] < seq:
            alarms.append(f"{number}: " + said("checkpoints.went_backwards_since", n=before["n"], then=seq,
                                               now=current[0]))
        elif current[0] == seq and current[1] != head:
            alarms.append(f"{number}: " + said("checkpoints.changed", seq=seq, n=before["n"]))
    return alarms


# -- checking ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogCheck:
    """What the checkpoint file says: its last trustworthy line, what is wrong with the file, and
    what its signed lines found wrong with the database when they were written."""

    last: dict[str, Any] | None
    problems: list[str]
    alarms: list[tuple[int, str]] = field(default_factory=list)
    others: int = 0  # signed lines of other databases (when one was asked for)
    own: int = 0  # signed lines of the database asked for

    @property
    def none_of_this_database(self) -> bool:
        """Checkpoints were written, but none of this database: a copy, a move, or a swap."""
        return self.others > 0 and self.own == 0


def database_name(engine: Engine) -> str:
    """Which database a checkpoint is of (one file may serve several, e.g. a test server's):
    the same name however its URL is written (duban.services.dbname)."""
    return name_of_url(engine.url)


def check_log(place: Place, db: str | None = None) -> LogCheck:
    """Every line signed, numbered 1, 2, 3… and chained to the one before; the heads file of the
    last line of database `db` (any, if None) intact."""
    lines = read_log(place)
    problems: list[str] = []
    key = public_key(place)
    if not lines:
        if key is not None and place.key_file.exists() and (place.folder / "heads").exists():
            problems.append(said("checkpoints.file_missing", file=place.log))
        return LogCheck(None, problems)
    if key is None:
        return LogCheck(None, [said("checkpoints.no_public_key", file=place.log, public=place.public_file)])
    if not place.key_file.exists():
        problems.append(said("checkpoints.signing_key_missing", key=place.key_file, public=place.public_file))
    mismatch = key_not_published(place)
    if mismatch is not None:
        problems.append(mismatch)
    last = None
    prev = ""
    others = own = 0
    alarms: list[tuple[int, str]] = []
    for i, line in enumerate(lines, start=1):
        where = said("checkpoints.line", line=i)
        try:
            key.verify(base64.b64decode(line.get("sig", "")), canonical(line))
        except (InvalidSignature, ValueError):
            problems.append(said("checkpoints.bad_signature", where=where))
            continue
        if line.get("n") != i:
            problems.append(said("checkpoints.out_of_turn", where=where, due=i, n=line.get("n")))
        if line.get("prev", "") != prev:
            problems.append(said("checkpoints.not_chained", where=where))
        prev = line_digest(line)
        if db is None or same_database(line.get("db"), db):
            last = line
            own += 1
            alarms += [(int(line["n"]), alarm) for alarm in line.get("alarms", [])]
        else:
            others += 1
    if last is not None:
        try:
            body = gzip.decompress((place.folder / last["heads"]).read_bytes())
        except OSError:
            problems.append(said("checkpoints.heads_missing", n=last["n"], file=last["heads"]))
            return LogCheck(None, problems, alarms, others, own)
        if hashlib.sha256(body).hexdigest() != last["heads_digest"]:
            problems.append(said("checkpoints.heads_altered", n=last["n"], file=last["heads"]))
            return LogCheck(None, problems, alarms, others, own)
    return LogCheck(last, problems, alarms, others, own)


def checkpoint_heads(place: Place, line: dict[str, Any]) -> Iterator[tuple[int, str, int, str]]:
    """The heads a (checked) checkpoint recorded, by case id."""
    body = gzip.decompress((place.folder / line["heads"]).read_bytes()).decode()
    for text in body.splitlines():
        cid, number, seq, head = text.split("\t")
        yield int(cid), number, int(seq), head


def checkpoint_after(engine: Engine, what: str) -> dict[str, Any] | None:
    """A checkpoint after a sweep or a backup; a failure is logged, never fails the sweep."""
    try:
        return write_checkpoint(engine, Place.of())
    except Exception:
        log.exception("audit checkpoint after %s failed", what)
        return None


def matching_checkpoint(place: Place, db: str,
                        rows: list[tuple[int, str, int, str]]) -> dict[str, Any] | None:
    """The last signed checkpoint of database `db` that saw exactly these heads (a backup taken
    right after it), or None: no checkpoint ever recorded this state."""
    key = public_key(place)
    if key is None:
        return None
    found = None
    roots: dict[str, str] = {}
    for line in read_log(place):
        if not same_database(line.get("db"), db) or line.get("cases") != len(rows):
            continue
        alg = line.get("alg", MAC_ALGORITHM)
        if alg not in roots:
            try:
                roots[alg] = merkle_root(alg, [leaf(alg, *row) for row in rows])
            except (TypeError, ValueError):  # an algorithm this platform lacks
                continue
        if line.get("root") != roots[alg]:
            continue
        try:
            key.verify(base64.b64decode(line.get("sig", "")), canonical(line))
        except (InvalidSignature, ValueError):
            continue
        found = line
    return found
