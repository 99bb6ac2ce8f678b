"""Notices to the complainant (告知反映人): which action sends which is data, sent by SMS and e-mail.

`config/notifications.toml [citizen_notices]` maps an action to a notice kind (transfer =
"accepted", approve_extension = "extended", approve = "reply", decline = "not_accepted", …).
`CaseService` calls `notify_complainants` once for every action it applies, after the action's
handler, so an action added later gets its notice by a config line and nothing else.

Who is told: every complainant of the case (the first and every repeat caller linked to it) who
complained under their real name and left a way to reach them. A mobile number gets an SMS, an
e-mail address an e-mail; both get both. Anonymous complainants get nothing, and neither does a
landline (no SMS reaches it). Each message is one outbox row in the action's transaction, with
the texts fixed then: what the complainant reads is the redacted twin of every text (titles,
reasons, the approved report), never another person's identity. The number or address is the
row's `to_address`, and only there: no text, log line or audit event carries it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select, union_all
from sqlmodel import Session

from duban.models import Case, Complainant, Extension, HandlingReport, RepeatContact
from duban.services.driver import Prepared
from duban.services.outbox import add_row, case_context, new_message_id

AUDIENCE = "complainant"
CHANNELS = ("sms", "email")

_C = Complainant.__table__  # type: ignore[attr-defined]
_CASES = Case.__table__  # type: ignore[attr-defined]
_REPEATS = RepeatContact.__table__  # type: ignore[attr-defined]
_IDS = union_all(select(_CASES.c.complainant_id.label("id")).where(_CASES.c.id == bindparam("case_id")),
                 select(_REPEATS.c.complainant_id).where(_REPEATS.c.case_id == bindparam("case_id")))
_REACHABLE = Prepared(select(_C.c.id, _C.c.phone, _C.c.email)
                      .where(_C.c.id.in_(select(_IDS.subquery().c.id)), _C.c.real_name.is_(True))
                      .order_by(_C.c.id))
_EXT = Extension.__table__  # type: ignore[attr-defined]
# The newest request is the one the action decides (its new status is not written yet: the
# decision is flushed with the case at commit).
_GRANTED = Prepared(select(_EXT.c.days, _EXT.c.reason_redacted)
                    .where(_EXT.c.case_id == bindparam("case_id"))
                    .order_by(_EXT.c.id.desc()).limit(1))
_REPORTS = HandlingReport.__table__  # type: ignore[attr-defined]
_REPLY = Prepared(select(_REPORTS.c.text_redacted)
                  .where(_REPORTS.c.case_id == bindparam("case_id"), _REPORTS.c.kind == "final")
                  .order_by(_REPORTS.c.id.desc()).limit(1))

_MOBILE = re.compile(r"1[3-9]\d{9}")
_SEPARATORS = re.compile(r"[\s\-()（）]")


def mobile_number(phone: str) -> str | None:
    """The 11-digit mainland mobile number a phone field holds (+86, spaces, dashes, full-width
    digits allowed), or None for a landline or anything else no SMS reaches."""
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", phone or ""))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.fullmatch(digits) else None


def _extension(step: Any) -> dict[str, Any]:
    found = _GRANTED.rows(step.session, {"case_id": step.case_id})
    row = found[0] if found else None
    return {"extension": {"days": row["days"] if row else 0, "reason": row["reason_redacted"] if row else ""}}


def _reply(step: Any) -> dict[str, Any]:
    """The approved final report's redacted text: the reply every part of Duban gives."""
    return {"reply": _REPLY.scalar(step.session, {"case_id": step.case_id}) or ""}


# What a kind says beyond the common context; a kind not listed (a new one) says the common part.
EXTRA: dict[str, Callable[[Any], dict[str, Any]]] = {"extended": _extension, "reply": _reply}


def notice_context(step: Any, kind: str) -> dict[str, Any]:
    """What a notice may say: the case's facts, its redacted title, the action's redacted reason."""
    context = case_context(step.ctx, step.case, today=step.today)
    context["case"] = {**context["case"], "title": step.case.title_redacted}
    context["reason"] = step.redact(step.reason)
    extra = EXTRA.get(kind)
    if extra is not None:
        context.update(extra(step))
    return context


def reachable(session: Session, case_id: int) -> list[tuple[str | None, str]]:
    """(mobile or None, e-mail or "") of each real-name complainant of the case with either,
    the same number or address once."""
    seen: set[str] = set()
    found: list[tuple[str | None, str]] = []
    for row in _REACHABLE.rows(session, {"case_id": case_id}):
        mobile = mobile_number(row["phone"])
        email = (row["email"] or "").strip()
        mobile = None if mobile in seen else mobile
        email = "" if email.lower() in seen else email
        if mobile is None and not email:
            continue
        seen.update(x for x in (mobile, email.lower()) if x)
        found.append((mobile, email))
    return found


def notify_complainants(step: Any) -> None:
    """Queue the notice the config names for this step's action, to each reachable complainant."""
    kind = step.ctx.templates.citizen_notices.get(step.action)
    if kind is None:
        return
    people = reachable(step.session, step.case_id)
    if not people:
        return
    context = notice_context(step, kind)
    templates, now = step.ctx.templates, step.now
    subject, body = templates.render(kind, context)
    code, params, text = templates.render_sms(kind, context,
                                              max_chars=step.ctx.policy.notify.sms_param_max_chars)
    sms_params = json.dumps({"template": code, "params": params}, ensure_ascii=False)
    channels: list[str] = []
    for mobile, email in people:
        if mobile:
            _queue(step, kind, "sms", mobile, subject, text, sms_params, now)
            channels.append("sms")
        if email:
            _queue(step, kind, "email", email, subject, body, "", now)
            channels.append("email")
    # The event says that and how the complainant was told, never where.
    step.data["citizen_notice"] = f"{kind}:{'+'.join(channels)}"


def _queue(step: Any, kind: str, channel: str, address: str, subject: str, body: str, params: str,
           now: dt.datetime) -> None:
    add_row(step.session, dict(
        case_id=step.case_id, kind=kind, audience=AUDIENCE, channel=channel, org_id=None,
        to_address=address, subject=subject, body=body, params=params, message_id=new_message_id(),
        dedupe_key=None, status="pending", attempts=0, next_attempt_at=now, claimed_at=None,
        claim_token=None, sent_at=None, last_error="", created_at=now))
