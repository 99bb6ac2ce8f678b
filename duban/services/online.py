"""The online channel (网上): what a citizen does on the public pages, without signing in.

- `file_complaint` registers through `CaseService.register`, as every other door does, with the
  citizen actor: the same checks, redaction of identity, avoidance and repeat linking. The
  complainant gets the case number and a query code (services/querycodes.py), shown once.
- Following a case is `reading.citizen_case`: a minimal view, after the code proves the case.
- `rate_reply` records the complainant's rating of the reply, once per reply, with its audit event.
- `Limiter` counts requests per client address in the database (public_hits), so every worker
  process shares the window; `new_challenge` / `check_challenge` are an HMAC-signed arithmetic
  question with an expiry, answered once, that needs no outside service and no script.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session, col

from duban.config.public import PublicConfig
from duban.errors import (
    ActionNotAllowed,
    AlreadyRated,
    CaseNotFound,
    ChallengeFailed,
    InvalidActionInput,
    PermissionDenied,
    TooManyRequests,
)
from duban.models import CaseCreate, PublicHit, QueryCode, RepeatContact, ReplyRating
from duban.services.audit import append_event
from duban.services.cases import CaseService, Registered
from duban.services.context import Actor, ServiceContext
from duban.services.persist import insert_row, track
from duban.services.querycodes import code_hash, new_code, prove
from duban.services.reading import reply_of
from duban.services.redaction import case_identity, redact_text
from duban.services.scope import CITIZEN

CITIZEN_ACTOR = Actor(name="网上反映人", role=CITIZEN)
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")
_HITS: Any = PublicHit.__table__  # type: ignore[attr-defined]
_PURGE_AFTER = dt.timedelta(days=1)  # longer than any window: older hits count for nothing


@dataclass(frozen=True)
class Complaint:
    """What the public form gives (anything else a registration takes is set here, not by the citizen)."""

    office_code: str
    category: str
    title: str
    summary: str
    subject_name: str = ""
    real_name: bool = False
    name: str = ""
    phone: str = ""
    consent: bool = False


@dataclass(frozen=True)
class Filed:
    number: str
    code: str  # the query code, shown once: only its hash is kept
    linked: bool  # the complaint repeats an open case and was linked to it


def _too_long(action: str, field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidActionInput(action=action, field=field, kind="string_too_long",
                                 message=f"must be at most {limit} characters",
                                 limits={"max_length": limit})


def _required(action: str, field: str, value: str) -> None:
    if not value.strip():
        raise InvalidActionInput(action=action, field=field, kind="missing", message="must not be empty")


def check_complaint(complaint: Complaint, config: PublicConfig) -> None:
    """Lengths and required fields; the rest (codes, office, category) is `register`'s to check."""
    lengths = config.lengths
    for field, limit in (("title", lengths.title), ("summary", lengths.summary),
                         ("subject_name", lengths.subject), ("name", lengths.name),
                         ("phone", lengths.phone)):
        _too_long("register", field, getattr(complaint, field), limit)
    _required("register", "title", complaint.title)
    _required("register", "summary", complaint.summary)
    if complaint.real_name:
        _required("register", "name", complaint.name)
        _required("register", "phone", complaint.phone)


def file_complaint(ctx: ServiceContext, complaint: Complaint, *, actor: Actor,
                   config: PublicConfig) -> Filed:
    """Register a complaint filed online; its number and a new query code (kept as a hash)."""
    check_complaint(complaint, config)
    real = complaint.real_name
    data = CaseCreate(
        title=complaint.title.strip(), summary=complaint.summary.strip(), category=complaint.category,
        channel="online", priority="normal", office_code=complaint.office_code,
        complainant_name=complaint.name.strip() if real else "",
        complainant_phone=complaint.phone.strip() if real else "",
        complainant_real_name=real, complainant_consent=real and complaint.consent,
        subject_name=complaint.subject_name.strip())
    code = new_code()

    def issue_code(session: Session, registered: Registered) -> None:
        case = registered.case
        assert case.id is not None
        person = case.complainant_id
        if registered.linked:  # the newcomer is the repeat contact just written
            person = session.connection().execute(
                select(col(RepeatContact.complainant_id)).where(col(RepeatContact.case_id) == case.id)
                .order_by(col(RepeatContact.id).desc()).limit(1)).scalar()
        assert person is not None
        insert_row(session, QueryCode, case_id=case.id, complainant_id=person, code_hash=code_hash(code),
                   created_at=ctx.now())

    registered = CaseService(ctx).register(data, actor=actor, also=issue_code)
    return Filed(number=registered.case.number, code=code, linked=registered.linked)



def rate_reply(ctx: ServiceContext, number: str, *, code: str, actor: Actor, rating: str,
               comment: str, config: PublicConfig) -> None:
    """The complainant's rating of the reply (the approved final report): once per reply.

    Recorded with an audit event on the case (`rate_reply`), its comment's redacted twin beside it.
    """
    if actor.role != CITIZEN:
        raise PermissionDenied(action="rate_reply", role=actor.role, allowed_roles=[CITIZEN])
    if rating not in RATINGS:
        raise InvalidActionInput(action="rate_reply", field="rating", kind="literal_error",
                                 message=f"must be one of {', '.join(RATINGS)}")
    _too_long("rate_reply", "comment", comment, config.lengths.comment)
    service = CaseService(ctx)
    now = ctx.now()
    with service.transaction() as session:
        proof = prove(session, number, code)
        if proof is None:
            raise CaseNotFound(number)
        case = service.load_in(session, proof.case_id, for_write=True)
        reply = reply_of(session, proof.case_id)
        if reply is None:
            raise ActionNotAllowed(case_number=case.number, action="rate_reply", state=case.state,
                                   allowed=[], reason="the case has no approved reply yet")
        done = session.connection().execute(select(col(ReplyRating.id)).where(
            col(ReplyRating.report_id) == reply.id,
            col(ReplyRating.complainant_id) == proof.complainant_id)).first()
        if done is not None:
            raise AlreadyRated(case.number)
        text = comment.strip()
        redacted = redact_text(text, case_identity(session, proof.case_id)) if text else ""
        insert_row(session, ReplyRating, case_id=proof.case_id, report_id=reply.id,
                   complainant_id=proof.complainant_id, rating=rating, comment=text,
                   comment_redacted=redacted, rated_at=now)
        track(session, case)
        case.version += 1
        case.updated_at = now
        append_event(session, case, at=now, actor=actor.name, actor_role=actor.role, action="rate_reply",
                     from_state=case.state, reason=text, reason_redacted=redacted,
                     data={"rating": rating, "report_id": reply.id})


# -- abuse limits ------------------------------------------------------------------------------


class Limiter:
    """Sliding windows per client address and kind, in the database (every worker shares them).

    Addresses are kept only as a keyed hash. Two workers counting the same address at the same
    instant may both pass the last free place: the limit is a bound to within a request or two.
    """

    def __init__(self, ctx: ServiceContext, secret: bytes) -> None:
        self.ctx = ctx
        self._secret = secret

    def key(self, value: str) -> str:
        return hmac.new(self._secret, f"public:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def _count(self, session: Any, bucket: str, key: str, since: dt.datetime) -> tuple[int, Any]:
        found = session.connection().execute(
            select(func.count(), func.min(_HITS.c.at)).where(
                _HITS.c.bucket == bucket, _HITS.c.key == key, _HITS.c.at > since)).first()
        return int(found[0]), found[1]

    def check(self, bucket: str, address: str, *, limit: int, minutes: int, count: bool = True) -> None:
        """Raise TooManyRequests when `address` used up `limit` in the last `minutes`; else count
        this request (unless `count` is False: then only failures are counted, by `record`)."""
        now = self.ctx.now()
        window = dt.timedelta(minutes=minutes)
        key = self.key(address)
        with CaseService(self.ctx).transaction() as session:
            used, oldest = self._count(session, bucket, key, now - window)
            if used >= limit:
                wait = (oldest.astimezone(dt.UTC) + window - now).total_seconds() if oldest else 60
                raise TooManyRequests(max(1, math.ceil(wait)), kind=bucket)
            if count:
                self._add(session, bucket, key, now)

    def record(self, bucket: str, address: str) -> None:
        with CaseService(self.ctx).transaction() as session:
            self._add(session, bucket, self.key(address), self.ctx.now())

    def _add(self, session: Any, bucket: str, key: str, now: dt.datetime) -> None:
        connection = session.connection()
        connection.execute(insert(_HITS).values(bucket=bucket, key=key, at=now))
        if secrets.randbelow(50) == 0:  # now and then, forget hits no window still counts
            connection.execute(delete(_HITS).where(_HITS.c.at < now - _PURGE_AFTER))

    def use_once(self, bucket: str, value: str) -> bool:
        """Mark `value` (a challenge's nonce) used; False when it was used before."""
        key = self.key(value)
        with CaseService(self.ctx).transaction() as session:
            used, _ = self._count(session, bucket, key, self.ctx.now() - _PURGE_AFTER)
            if used:
                return False
            self._add(session, bucket, key, self.ctx.now())
            return True


# -- the challenge -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    question: str
    token: str  # nonce.expires.signature: the answer is in the signature, not in the token


def _signature(secret: bytes, nonce: str, expires: int, answer: int) -> str:
    return hmac.new(secret, f"challenge|{nonce}|{expires}|{answer}".encode(), hashlib.sha256).hexdigest()


def new_challenge(config: PublicConfig, secret: bytes, now: dt.datetime) -> Challenge:
    """A small sum or difference in Chinese numerals, signed, valid for `challenge_minutes`."""
    a, b = secrets.randbelow(10) + 1, secrets.randbelow(10) + 1
    minus = secrets.randbelow(2) == 1 and a > b
    answer = a - b if minus else a + b
    nonce = secrets.token_urlsafe(12)
    expires = int(now.timestamp()) + config.limits.challenge_minutes * 60
    digits = config.text["digits"]
    question = config.t("question").format(a=digits[a], b=digits[b],
                                           op=config.t("minus") if minus else config.t("plus"))
    signature = _signature(secret, nonce, expires, answer)
    return Challenge(question=question, token=f"{nonce}.{expires}.{signature}")


def check_challenge(limiter: Limiter, secret: bytes, token: str, answer: str) -> None:
    """Raise ChallengeFailed unless `answer` answers the challenge of `token`, in time, first time."""
    parts = token.split(".")
    text = answer.strip()
    if len(parts) != 3 or not parts[1].isascii() or not parts[1].isdigit() or not (
            text.isascii() and text.isdigit() and len(text) <= 3):
        raise ChallengeFailed()
    nonce, expires = parts[0], int(parts[1])
    if expires < limiter.ctx.now().timestamp():
        raise ChallengeFailed()
    if not hmac.compare_digest(_signature(secret, nonce, expires, int(text)), parts[2]):
        raise ChallengeFailed()
    if not limiter.use_once("nonce", nonce):
        raise ChallengeFailed()
