"""The audit trail's secret keys: kept outside the database, rotated, never forgotten.

Whoever can write the database but lacks the key cannot recompute an event's MAC, so a rewritten
event shows. Each event names the key it was made with (`key_id`), so a rotated-out key still
verifies the events it made; only the current key makes new ones. The MAC is HMAC-SM3 (GB/T 39786)
where the platform's OpenSSL has SM3, else HMAC-SHA-256, recorded on each event (`alg`).

Sources, first found wins: DUBAN_AUDIT_KEY ("id:hex,id:hex…", the last current; a bare hex is one
key whose id is derived), else the key file (DUBAN_AUDIT_KEY_FILE, default audit-keys.json in
the config folder), which is created 0600 with a fresh key on first use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from duban.config.settings import Settings, get_settings
from duban.errors import ConfigError


def _has_sm3() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


MAC_ALGORITHM = "sm3" if _has_sm3() else "sha256"
KNOWN_ALGORITHMS = frozenset({"sm3", "sha256"})


def key_id_of(key: bytes) -> str:
    """A key's name derived from the key itself, so an id cannot be relabelled onto another key."""
    return hashlib.sha256(b"duban-audit-key-id\0" + key).hexdigest()[:12]


@dataclass
class KeyRing:
    """Every audit key ever used here, by id; `current` makes new events."""

    keys: dict[str, bytes]
    current: str
    source: str
    alg: str = MAC_ALGORITHM
    _case_keys: dict[tuple[str, str, int], bytes] = field(default_factory=dict, repr=False)

    def case_key(self, key_id: str, alg: str, case_id: int) -> bytes | None:
        """The key of one case's chain, derived from a master key (None: key or alg unknown).

        A per-case key can be handed to an outside auditor with `duban audit export`: it checks
        that one case's MACs and no other.
        """
        cached = self._case_keys.get((key_id, alg, case_id))
        if cached is not None:
            return cached
        master = self.keys.get(key_id)
        if master is None or alg not in KNOWN_ALGORITHMS:
            return None
        if len(self._case_keys) > 4096:
            self._case_keys.clear()
        derived = self._case_keys[key_id, alg, case_id] = hmac.digest(
            master, f"duban-audit-case:{case_id}".encode(), alg)
        return derived

    def stream_key(self, key_id: str, alg: str, stream: str) -> bytes | None:
        """The key of a chain that belongs to no case (the account record, services/accountaudit.py),
        derived from a master key apart from every case's (None: key or alg unknown)."""
        master = self.keys.get(key_id)
        if master is None or alg not in KNOWN_ALGORITHMS:
            return None
        return hmac.digest(master, f"duban-audit-stream:{stream}".encode(), alg)


def _parse_env(value: str) -> tuple[dict[str, bytes], str]:
    keys: dict[str, bytes] = {}
    current = ""
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        kid, _, hexkey = item.rpartition(":")
        try:
            key = bytes.fromhex(hexkey)
        except ValueError:
            raise ConfigError(source="DUBAN_AUDIT_KEY", key=kid or "key",
                              message="is not hexadecimal (审计密钥须为十六进制)") from None
        if len(key) < 16:
            raise ConfigError(source="DUBAN_AUDIT_KEY", key=kid or "key",
                              message="is shorter than 16 bytes (审计密钥不得短于16字节)")
        kid = kid or key_id_of(key)
        keys[kid] = key
        current = kid
    if not keys:
        raise ConfigError(source="DUBAN_AUDIT_KEY", key="value", message="names no key (未给出审计密钥)")
    return keys, current


def _read_file(path: Path) -> tuple[dict[str, bytes], str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        keys = {item["id"]: bytes.fromhex(item["key"]) for item in doc["keys"]}
        current = doc["current"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(source=str(path), key="keys",
                          message=f"is not a readable audit key file: {exc} (审计密钥文件无法读取)") from None
    if current not in keys:
        raise ConfigError(source=str(path), key="current",
                          message=f"names key {current!r}, which the file lacks (当前密钥不存在)")
    return keys, current


def _write_file(path: Path, keys: dict[str, bytes], current: str, created: dict[str, str], *,
                first: bool = False) -> None:
    """Write the key file atomically, readable by its owner only.

    `first`: only if none exists yet (processes starting together must not each make a key of
    their own: the one that loses the race reads the winner's).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"current": current, "keys": [
        {"id": kid, "key": key.hex(), "created": created.get(kid, "")} for kid, key in keys.items()]}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(doc, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    if first:
        try:
            os.link(tmp, path)  # fails if another process made the file first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return
    os.replace(tmp, path)


def _created_of(path: Path) -> dict[str, str]:
    try:
        return {item["id"]: item.get("created", "") for item in
                json.loads(path.read_text(encoding="utf-8"))["keys"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def load_keyring(settings: Settings | None = None) -> KeyRing:
    """The keys from the environment or the key file; a first key file is made if none exists."""
    settings = settings or get_settings()
    if settings.audit_key:
        keys, current = _parse_env(settings.audit_key)
        return KeyRing(keys, current, "DUBAN_AUDIT_KEY")
    path = settings.resolved_audit_key_file
    if not path.exists():
        key = secrets.token_bytes(32)
        kid = key_id_of(key)
        _write_file(path, {kid: key}, kid, {kid: dt.datetime.now(dt.UTC).isoformat()}, first=True)
    keys, current = _read_file(path)
    return KeyRing(keys, current, str(path))


@lru_cache(maxsize=8)
def _cached(source: tuple[str | None, str]) -> KeyRing:
    return load_keyring()


def default_keyring() -> KeyRing:
    """The process's keys as its settings name them (read once per source)."""
    settings = get_settings()
    return _cached((settings.audit_key, str(settings.resolved_audit_key_file)))


def rotate_key(settings: Settings | None = None) -> tuple[str, str]:
    """Add a new key to the key file and make it current; (old id, new id). Old keys stay."""
    settings = settings or get_settings()
    if settings.audit_key:
        raise ConfigError(source="DUBAN_AUDIT_KEY", key="rotate",
                          message="keys from the environment are rotated there: append ',newid:newhex' "
                                  "(环境变量中的密钥请在环境变量中轮换)")
    ring = load_keyring(settings)
    path = settings.resolved_audit_key_file
    key = secrets.token_bytes(32)
    kid = key_id_of(key)
    created = _created_of(path)
    created[kid] = dt.datetime.now(dt.UTC).isoformat()
    _write_file(path, {**ring.keys, kid: key}, kid, created)
    _cached.cache_clear()
    return ring.current, kid


def as_env(ring: KeyRing) -> str:
    """The ring as DUBAN_AUDIT_KEY takes it (the current key last): for processes that share it."""
    others = [f"{kid}:{key.hex()}" for kid, key in ring.keys.items() if kid != ring.current]
    return ",".join([*others, f"{ring.current}:{ring.keys[ring.current].hex()}"])
