"""附件: files attached to an action, checked by content, kept in the file store, shown per role.

An action that takes attachments (policy [attachments.actions]: registration, handling reports,
复查/复核, callbacks) gets them as `Upload`s. `check` refuses, before anything is written, a file
whose content is not one of the policy's types (duban/services/filetypes.py: by its bytes, never
its name or the client's content type), one too large, or too many; `put` stores the bytes under
their SHA-256 (duban/services/filestore.py), outside the database and outside the transaction;
`record` writes one `attachments` row per file in the action's transaction, named in its audit
event (config/audit.toml) with the hashes in the event's data, so the keyed chain covers the bytes.

Reading goes through the case's one door (services/reading.py `load_case`, actor required): out of
scope is "not found", and the complainant's own papers (`identity`) are shown only to whom the
complainant may be shown (policy [privacy], consent included); to anyone else they do not exist.
Names are read as their redacted twin by those who may not see identity.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from duban.errors import AttachmentRefused, ItemNotFound
from duban.models import Attachment, Callback, HandlingReport, ReviewRequest
from duban.services.context import Actor, ServiceContext
from duban.services.filestore import FileStore, default_store, key_of
from duban.services.filetypes import TYPES, FileType, sniff
from duban.services.persist import insert_row
from duban.services.reading import load_case

_TABLE = Attachment.__table__  # type: ignore[attr-defined]
# The record an action's files belong to: the newest row of its kind on the case, the one the
# action has just written (a registration's is its complainant row, known to the caller).
_OWNERS = {kind: select(func.max(table.c.id)).where(table.c.case_id == bindparam("case_id"))
           for kind, table in (("report", HandlingReport.__table__),  # type: ignore[attr-defined]
                               ("review", ReviewRequest.__table__),  # type: ignore[attr-defined]
                               ("callback", Callback.__table__))}  # type: ignore[attr-defined]
# What a reader gets of a case's attachments (`seen`: whether they may see who complained): the
# name as they may read it, and without the right neither the raw name nor the complainant's own
# papers are selected at all.
_SHOWN = [_TABLE.c[name] for name in ("id", "kind", "owner_id", "action", "media_type", "size", "sha256",
                                      "identity", "uploaded_by", "uploaded_role", "uploaded_at")]


def _readable(seen: bool) -> Any:
    query = select(*_SHOWN, (_TABLE.c.name if seen else _TABLE.c.name_redacted).label("name"))
    return query if seen else query.where(_TABLE.c.identity.is_(False))


# A case's attachments for a reader; a case page reads it with the case's other rows (`reading`).
CASE_ATTACHMENTS = {seen: _readable(seen).where(_TABLE.c.case_id == bindparam("case_id"))
                    .order_by(_TABLE.c.id) for seen in (False, True)}
_ONE = {seen: _readable(seen).where(_TABLE.c.id == bindparam("id"), _TABLE.c.case_id == bindparam("case_id"))
        for seen in (False, True)}


@dataclass(frozen=True)
class Upload:
    """A file as a face received it: the name the client gave, and the bytes."""

    name: str
    content: bytes


@dataclass(frozen=True)
class Checked:
    """A file `check` accepted: what its content is, and its hash."""

    name: str
    content: bytes
    type: FileType
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def store_of(ctx: ServiceContext) -> FileStore:
    return ctx.files if ctx.files is not None else default_store()


def limits(ctx: ServiceContext) -> dict[str, Any]:
    rule = ctx.policy.attachments
    return {"allowed": "、".join(ctx.labels.text.get(f"filetype_{k}", k) for k in rule.types),
            "max_mb": round(rule.max_bytes / (1024 * 1024), 1) if rule.max_bytes % (1024 * 1024)
            else rule.max_bytes // (1024 * 1024),
            "max_files": rule.max_files, "max_chars": rule.max_name_chars}


def attachment_hint(ctx: ServiceContext) -> str:
    """What a form's file input says it takes (labels [text] attachments_hint)."""
    return ctx.labels.text["attachments_hint"].format(**limits(ctx))


def _refuse(ctx: ServiceContext, action: str, kind: str, message: str) -> AttachmentRefused:
    return AttachmentRefused(action=action, kind=kind, message=message, limits=limits(ctx))


def _kept(ch: str) -> bool:
    """Not a control, format (bidi overrides such as U+202E), unassigned character, nor a line or
    paragraph separator: what could break a header or a line, or hide a name's real end."""
    kind = unicodedata.category(ch)
    return kind[0] != "C" and kind not in ("Zl", "Zp")


def clean_name(name: str) -> str:
    """The file's own name: no folders (a browser may send `C:\\…\\信.pdf`), NFC, nothing
    `_kept` refuses, no blanks around it."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    return "".join(ch for ch in name if _kept(ch)).strip()


def check(ctx: ServiceContext, action: str, uploads: Sequence[Upload]) -> list[Checked]:
    """The files, each recognised by its content; AttachmentRefused for the first one refused."""
    if not uploads:
        return []
    rule = ctx.policy.attachments
    if action not in rule.actions:
        raise _refuse(ctx, action, "attachment_not_here",
                      f"this action takes no attachments; those that do: {', '.join(rule.actions)}")
    if len(uploads) > rule.max_files:
        raise _refuse(ctx, action, "attachment_count", f"at most {rule.max_files} files an action")
    checked = []
    for upload in uploads:
        if not upload.content:
            raise _refuse(ctx, action, "attachment_empty", "a file is empty")
        if len(upload.content) > rule.max_bytes:
            raise _refuse(ctx, action, "attachment_size", f"a file is larger than {rule.max_bytes} bytes")
        name = clean_name(upload.name)
        if not name.replace(".", "").strip() or len(name) > rule.max_name_chars or any(
                0xD800 <= ord(ch) <= 0xDFFF for ch in name):
            raise _refuse(ctx, action, "attachment_name",
                          f"a file's name is empty, only dots, broken or longer than "
                          f"{rule.max_name_chars} characters")
        found = sniff(upload.content)
        if found is None or found.key not in rule.types:
            raise _refuse(ctx, action, "attachment_type",
                          f"a file's content is none of: {', '.join(rule.types)} (checked by content; "
                          "Office files with macros, DDE or remote parts, PDFs with scripts or "
                          "embedded files and cut images are never taken)")
        checked.append(Checked(name=name, content=upload.content, type=found,
                               sha256=key_of(upload.content)))
    return checked


def put(ctx: ServiceContext, files: Sequence[Checked]) -> None:
    """Store the files' bytes, before the action's transaction (a file no row names is harmless)."""
    store = store_of(ctx)
    for file in files:
        store.put(file.sha256, file.content)


def owner_of(session: Session, kind: str, case_id: int) -> int:
    """The record just written that an action's files belong to (report, review, callback)."""
    owner = session.connection().execute(_OWNERS[kind], {"case_id": case_id}).scalar()
    assert owner is not None, f"the action wrote no {kind} to attach files to"
    return int(owner)


def record(session: Session, ctx: ServiceContext, *, case_id: int, action: str, actor: Actor,
           files: Sequence[Checked], now: Any, redact: Any, owner_id: int | None = None) -> list[str]:
    """One `attachments` row per file, in the action's transaction; the hashes for its event."""
    if not files:
        return []
    spec = ctx.policy.attachments.actions[action]
    owner = owner_id if owner_id is not None else owner_of(session, spec.kind, case_id)
    for file in files:
        insert_row(session, Attachment, case_id=case_id, kind=spec.kind, owner_id=owner, action=action,
                   name=file.name, name_redacted=redact(file.name), media_type=file.type.media_type,
                   size=file.size, sha256=file.sha256, identity=spec.identity,
                   uploaded_by=actor.name, uploaded_role=actor.role, uploaded_at=now)
    return [file.sha256 for file in files]


def list_attachments(ctx: ServiceContext, ref: int | str, *, actor: Actor) -> list[dict[str, Any]]:
    """The case's attachments `actor` may see, oldest first (CaseNotFound out of scope)."""
    with Session(ctx.engine) as session:
        case, seen = load_case(session, ctx, ref, actor=actor, texts=False)
        assert case.id is not None
        read = session.connection().execute(CASE_ATTACHMENTS[seen], {"case_id": case.id})
        return [dict(row) for row in read.mappings()]


_EXTENSIONS = {"jpeg": (".jpg", ".jpeg", ".jpe")}


def download_name(name: str, media_type: str) -> str:
    """The name a download is saved as: the attached name, ending as its content is (a PDF
    attached as `信.jpg` saves as `信.jpg.pdf`, so the reader's computer opens it as a PDF)."""
    kind = next((t for t in TYPES.values() if t.media_type == media_type), None)
    if kind is None:
        return name
    if name.lower().endswith(_EXTENSIONS.get(kind.key, (kind.extension,))):
        return name
    return f"{name}{kind.extension}"


def content_disposition(name: str, *, inline: bool) -> str:
    """RFC 6266 with an RFC 5987 UTF-8 name (Chinese names survive) and a plain-ASCII fallback."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%;' else "_" for ch in name)
    if not fallback.strip("_."):
        fallback = "attachment" + (fallback[fallback.rfind("."):] if "." in fallback else "")
    return (f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; "
            f"filename*=UTF-8''{quote(name, safe='')}")


@dataclass(frozen=True)
class Download:
    """An attachment as it is served: its row as the reader may see it, and its bytes."""

    info: dict[str, Any]
    content: bytes
    inline: bool  # policy [attachments] inline: shown in the browser, else downloaded

    @property
    def filename(self) -> str:
        return download_name(self.info["name"], self.info["media_type"])

    def headers(self) -> dict[str, str]:
        """What every face serves it with: the type its content showed, never sniffed again by the
        browser, saved rather than shown unless an image, in a sandbox if shown, never cached."""
        return {"Content-Type": self.info["media_type"],
                "Content-Disposition": content_disposition(self.filename, inline=self.inline),
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
                "Cache-Control": "private, no-store"}


def download(ctx: ServiceContext, ref: int | str, attachment_id: int, *, actor: Actor) -> Download:
    """One attachment's bytes, checked against its hash. CaseNotFound out of the case's scope;
    ItemNotFound when it is not the case's, or is the complainant's and `actor` may not see them."""
    with Session(ctx.engine) as session:
        case, seen = load_case(session, ctx, ref, actor=actor, texts=False)
        row = session.connection().execute(_ONE[seen], {"id": attachment_id, "case_id": case.id}).mappings() \
            .first()
        if row is None:  # not the case's, or the complainant's and `actor` may not see them
            raise ItemNotFound("attachment", attachment_id)
        info = dict(row)
    content = store_of(ctx).get(info["sha256"])
    kind = next((t.key for t in TYPES.values() if t.media_type == info["media_type"]), "")
    return Download(info=info, content=content, inline=kind in ctx.policy.attachments.inline)
