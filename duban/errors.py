"""Named errors, each carrying what a person needs to fix the input.

    DubanError
    ├── CaseNotFound (LookupError)
    ├── OrgNotFound (LookupError)
    ├── ItemNotFound (LookupError)  a proposal or interview that is not there, or not in scope
    ├── ActionNotAllowed        the action does not apply in the case's current state
    │   └── ReviewNotAllowed    复查 / 复核 refused (duban.services.reviews):
    │       ├── NotYetReplied       no reply (处理意见) yet to be reviewed
    │       ├── ReviewWindowPassed  asked later than the window after the reply
    │       ├── CaseConcluded       终结: 复核 decided, the same request is not accepted again
    │       └── ReviewPending       a review is under way: wait for its opinion
    ├── InvalidActionInput (ValueError)  the action's form is incomplete or wrong
    │   ├── CallbackOwed        a real-name case closed with neither a callback nor a listed reason
    │   └── AttachmentRefused   a file of a type, size or number the policy does not take
    ├── StaleCase               someone else changed the case first
    ├── AvoidanceViolation      the case would go to the unit it complains about
    ├── PermissionDenied        the actor's role (or office) may not do this
    │   └── CaseHeldElsewhere   another office holds the case (提级直办): read only here
    ├── AuthenticationFailed    unknown user, wrong password, or a token that is no longer valid
    │   └── AccountDisabled     the right password, but the account is switched off
    ├── TooManyAttempts         too many failed sign-ins for this user name from this address
    │   └── TooManyRequests     a public page's limit per client address is used up
    ├── ChallengeFailed         the public form's challenge was answered wrong, late or twice
    ├── AlreadyRated            a complainant rates a reply once
    ├── WeakPassword (InvalidActionInput)  too short, or on the list of common passwords
    ├── StoredFileLost          an attachment's bytes are missing from the file store, or changed there
    ├── FileExists (FileExistsError)      an output file is there already: --force replaces it
    ├── ProtectedFile (PermissionError)   an output file is the database itself: never written
    └── ConfigError (ValueError) a policy or calendar file is wrong

Services raise these; the API maps them to HTTP codes in one handler, the CLI prints them.
No message repeats the value it refuses (a code or date field may hold a complainant's name or
phone): it names the field and what is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DubanError(Exception):
    """Base of every error Duban raises on purpose."""

    code = "duban_error"


class CaseNotFound(DubanError, LookupError):
    code = "case_not_found"

    def __init__(self, ref: object) -> None:
        self.ref = ref  # for the code that raised it; never in the message (it is the caller's input)
        super().__init__("no such case, or not yours to see (监督意见不存在，或您无权查看)")


class OrgNotFound(DubanError, LookupError):
    code = "org_not_found"

    def __init__(self, ref: object) -> None:
        self.ref = ref  # as CaseNotFound: kept for the caller, not repeated in the message
        super().__init__("no office or unit has this code (单位不存在)")


class ItemNotFound(DubanError, LookupError):
    """A queue item (a pressure proposal, an interview) not there or outside the reader's scope."""

    code = "item_not_found"
    NAMES = {"proposal": "proposal (督促措施建议)", "interview": "interview (约谈)",
             "attachment": "attachment (附件)"}

    def __init__(self, what: str, ref: object) -> None:
        self.what = what
        self.ref = ref  # as CaseNotFound: kept for the caller, not repeated in the message
        super().__init__(f"no such {self.NAMES.get(what, what)}, or not yours to see (不存在，或您无权查看)")


class ActionNotAllowed(DubanError):
    code = "action_not_allowed"

    def __init__(
        self, *, case_number: str, action: str, state: str, allowed: Sequence[str], reason: str = ""
    ) -> None:
        self.case_number = case_number
        self.action = action
        self.state = state
        self.allowed = list(allowed)
        self.reason = reason
        allowed_text = ", ".join(self.allowed) or "none"
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"action '{action}' is not allowed on case {case_number} in state '{state}'{why}; "
            f"allowed now: {allowed_text}"
        )


class ReviewNotAllowed(ActionNotAllowed):
    """复查 / 复核 refused by the case's stage; `reason` says why in Chinese (信访工作条例 art. 35, 36)."""

    code = "review_not_allowed"
    WHY = ""

    def __init__(self, *, case_number: str, action: str, state: str, allowed: Sequence[str] = (),
                 reason: str = "") -> None:
        super().__init__(case_number=case_number, action=action, state=state, allowed=allowed,
                         reason=f"{self.WHY}{'; ' if reason else ''}{reason}")
        self.reason = reason  # the Chinese detail (a date, a level), for the Chinese message


class NotYetReplied(ReviewNotAllowed):
    code = "not_yet_replied"
    WHY = "the case has no reply (处理意见) yet to review (尚未答复)"


class ReviewWindowPassed(ReviewNotAllowed):
    code = "review_window_passed"
    WHY = "the window after the reply has passed (请求期限已过，不再受理)"


class CaseConcluded(ReviewNotAllowed):
    code = "case_concluded"
    WHY = "the case is concluded after 复核 (已终结，不再受理)"


class ReviewPending(ReviewNotAllowed):
    code = "review_pending"
    WHY = "a review is under way; wait for its opinion (正在复查或复核)"


class InvalidActionInput(DubanError, ValueError):
    code = "invalid_input"

    def __init__(self, *, action: str, field: str, message: str, kind: str = "",
                 limits: dict[str, Any] | None = None) -> None:
        self.action = action
        self.field = field
        self.message = message
        # The validator's error type (missing, string_too_short...) and its bounds, so that pages
        # and the API can say what is wrong in Chinese without parsing the English message.
        self.kind = kind
        self.limits = dict(limits or {})
        super().__init__(f"{action}: field '{field}': {message}")


class CallbackOwed(InvalidActionInput):
    """办结 of a real-name case awaiting its callback, without one and without a listed reason."""

    code = "callback_owed"

    def __init__(self, *, action: str, case_number: str, reasons: Sequence[str],
                 attempts_needed: int, reasons_zh: str = "") -> None:
        self.case_number = case_number
        self.reasons = list(reasons)
        super().__init__(
            action=action, field="reason", kind="callback_owed",
            limits={"allowed": reasons_zh or "、".join(self.reasons), "attempts": attempts_needed},
            message=f"case {case_number} has a real-name complainant awaiting a callback: record the "
                    f"callback (record_callback), close it as unreachable after {attempts_needed} "
                    f"attempts that reached nobody (close_unreachable), or give one of these reasons: "
                    f"{', '.join(self.reasons) or 'none'} (实名反映须回访后办结，或联系不上达"
                    f"{attempts_needed}次后按联系不上办结，或选择规定的不回访理由)")


class AttachmentRefused(InvalidActionInput):
    """A file refused by what it is (its content, never its name), its size, or how many came.

    `kind`: attachment_type, attachment_size, attachment_count, attachment_empty or
    attachment_name; `limits` carries what is allowed (types, max_mb, max_files) for the Chinese
    message. The file's name is never repeated (it may hold a complainant's name).
    """

    code = "attachment_refused"

    def __init__(self, *, action: str, kind: str, message: str, limits: dict[str, Any]) -> None:
        super().__init__(action=action, field="attachments", kind=kind, message=message, limits=limits)


class StaleCase(DubanError):
    code = "stale_case"

    def __init__(self, *, case_number: str, expected: int, actual: int) -> None:
        self.case_number = case_number
        self.expected = expected
        self.actual = actual
        # The version the caller sent is not repeated (it is input; any number fits there).
        super().__init__(
            f"case {case_number} was changed by someone else (it is now version {actual}); "
            f"reload it and try again (案件已被他人更新，请刷新后重试)"
        )


class AvoidanceViolation(DubanError):
    code = "avoidance_violation"

    def __init__(self, *, case_number: str, unit: str, message: str = "") -> None:
        self.case_number = case_number
        self.unit = unit
        super().__init__(
            message
            or f"case {case_number} complains about {unit} or the government it answers to; it cannot "
            f"be handed to it and there is no higher office to take it (回避); hand it to another unit"
        )


class PermissionDenied(DubanError):
    code = "permission_denied"

    def __init__(self, *, action: str, role: str, allowed_roles: Sequence[str] = (),
                 reason: str = "") -> None:
        self.action = action
        self.role = role
        self.allowed_roles = list(allowed_roles)
        self.reason = reason
        roles = ", ".join(self.allowed_roles) or "none"
        if reason:
            super().__init__(f"'{action}' is not yours to do: {reason}")
        else:
            super().__init__(f"role '{role}' may not perform '{action}'; roles that may: {roles}")


class CaseHeldElsewhere(PermissionDenied):
    """The actor's office sees the case but another holds it (the office of record: after 提级直办,
    the office above that took it over): it may read the case, not act on it."""

    code = "case_held_elsewhere"

    def __init__(self, *, case_number: str, action: str, role: str, holder: str,
                 allowed_roles: Sequence[str] = ()) -> None:
        self.case_number = case_number
        self.holder = holder  # the office of record's name
        super().__init__(action=action, role=role, allowed_roles=allowed_roles,
                         reason=f"case {case_number} is held by {holder}, which reviews and acts on "
                                f"it; your office may read it, not act on it "
                                f"(该件由{holder}负责办理，本办只能查看)")


class AuthenticationFailed(DubanError):
    """Deliberately vague: it never says whether the user name or the password was wrong."""

    code = "authentication_failed"

    def __init__(self, message: str = "wrong user name or password, or the session has expired") -> None:
        super().__init__(message)


class AccountDisabled(AuthenticationFailed):
    """Said only to whoever gave the right password, so it tells a stranger nothing."""

    code = "account_disabled"

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"the account {username!r} is disabled; ask an administrator to enable it "
                         f"(账号已停用，请联系管理员)")


class WeakPassword(InvalidActionInput):
    """A password refused by the policy: `kind` is `too_short`, `too_long` or `common`."""

    code = "weak_password"

    def __init__(self, *, field: str, kind: str, min_length: int, max_length: int) -> None:
        messages = {
            "too_short": f"at least {min_length} characters (密码至少{min_length}个字符)",
            "too_long": f"at most {max_length} characters (密码最多{max_length}个字符)",
            "common": "this password is on the list of common passwords that attackers try first; "
                      "choose another (密码过于常见，请换一个)",
        }
        super().__init__(action="password", field=field, message=messages[kind], kind=f"password_{kind}",
                         limits={"min_length": min_length, "max_length": max_length})


class TooManyAttempts(DubanError):
    """Sign-in refused without checking the password: too many recent failures (429)."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")


class TooManyRequests(TooManyAttempts):
    """A public page's limit per client address is used up (429); `kind` names the limit."""

    code = "too_many_requests"

    def __init__(self, retry_after: int, *, kind: str) -> None:
        self.kind = kind
        DubanError.__init__(self, f"too many {kind} requests from this address; try again in "
                                  f"{retry_after} seconds (请求过于频繁，请稍后再试)")
        self.retry_after = retry_after


class ChallengeFailed(DubanError):
    """The challenge of a public form was answered wrong, after its expiry, or a second time."""

    code = "challenge_failed"

    def __init__(self) -> None:
        super().__init__("the challenge answer is wrong, expired or already used; answer a new one "
                         "(验证问题回答不正确或已过期，请重新回答)")


class AlreadyRated(DubanError):
    """A complainant rates each reply once."""

    code = "already_rated"

    def __init__(self, case_number: str) -> None:
        self.case_number = case_number
        super().__init__(f"the reply on case {case_number} is rated already; a reply is rated once "
                         f"(这次答复已经评价过)")


class StoredFileLost(DubanError):
    """An attachment's content is not in the file store, or no longer matches its hash: never served."""

    code = "stored_file_lost"

    def __init__(self, key: str, what: str) -> None:
        self.key = key
        super().__init__(f"an attachment's file is {what} (附件文件缺失或已被改动，请联系管理员)")


class FileExists(DubanError, FileExistsError):
    code = "file_exists"

    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(f"{path} exists already; choose another name, or add --force to replace it "
                         f"(文件已存在：换一个文件名，或加 --force 覆盖)")


class ProtectedFile(DubanError, PermissionError):
    code = "protected_file"

    def __init__(self, path: object, what: str) -> None:
        self.path = path
        self.what = what
        super().__init__(f"{path} is {what}; it is never written over, not even with --force: "
                         f"choose another file name (该文件是数据库文件，不能覆盖，请换一个文件名)")


class SchemaNotCurrent(DubanError):
    """The database's schema is not the one this release reads: migrating is an operator's step."""

    code = "schema_not_current"

    def __init__(self, *, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        at = f"at migration {current}" if current else "empty (no schema)"
        super().__init__(f"the database is {at}; this release needs migration {head}: run `duban db upgrade` "
                         f"(数据库结构不是当前版本：请先运行 duban db upgrade)")


class ConfigError(DubanError, ValueError):
    code = "config_error"

    def __init__(self, *, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        super().__init__(f"{source}: {key}: {message}")
