"""Named errors, each carrying what a person needs to fix the input.

    DubanError
    ├── CaseNotFound (LookupError)
    ├── OrgNotFound (LookupError)
    ├── ActionNotAllowed        the action does not apply in the case's current state
    ├── InvalidActionInput (ValueError)  the action's form is incomplete or wrong
    ├── StaleCase               someone else changed the case first
    ├── AvoidanceViolation      the case would go to the unit it complains about
    ├── PermissionDenied        the actor's role (or office) may not do this
    ├── AuthenticationFailed    unknown user, wrong password, or a token that is no longer valid
    ├── TooManyAttempts         too many failed sign-ins for this user name from this address
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
            or f"case {case_number} complains about {unit}; it cannot be handed to it and "
            f"there is no higher office to take it (回避)"
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


class AuthenticationFailed(DubanError):
    """Deliberately vague: it never says whether the user name or the password was wrong."""

    code = "authentication_failed"

    def __init__(self, message: str = "wrong user name or password, or the session has expired") -> None:
        super().__init__(message)


class TooManyAttempts(DubanError):
    """Sign-in refused without checking the password: too many recent failures (429)."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")


class ConfigError(DubanError, ValueError):
    code = "config_error"

    def __init__(self, *, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        super().__init__(f"{source}: {key}: {message}")
