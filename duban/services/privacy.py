"""Who may see who complained (信访工作条例 art. 30; 个人信息保护法): the one rule, in one place."""

from __future__ import annotations

from typing import Any

from duban.services.context import Actor

# Roles that work inside the supervising office and may see the complainant.
OFFICE_ROLES = frozenset({"clerk", "dispatcher", "supervisor", "admin", "engine"})


def may_see_complainant(actor: Actor | None, complainant: Any) -> bool:
    if complainant is None:
        return False
    if actor is None:
        return False
    if actor.role in OFFICE_ROLES:
        return True
    return bool(complainant.consent_disclose) and actor.role == "unit"


def may_export_complainant(actor: Actor | None) -> bool:
    """Whether a bulk export (a file that leaves Duban) may carry complainants at all.

    Stricter than the screen: a complainant's consent lets the handling unit see them while it
    handles the case, not put them in a spreadsheet. Only the office's own staff export identity.
    """
    return actor is not None and actor.role in OFFICE_ROLES


def complainant_view(actor: Actor | None, complainant: Any, masked: str) -> dict[str, Any]:
    """The complainant as the actor may see it; masked fields say so rather than vanish."""
    if complainant is None:
        return {"name": "", "phone": "", "real_name": False, "visible": False}
    if may_see_complainant(actor, complainant):
        return {"name": complainant.name, "phone": complainant.phone,
                "real_name": complainant.real_name, "visible": True}
    return {"name": masked, "phone": masked, "real_name": complainant.real_name, "visible": False}


def identifiers(complainant: Any) -> list[str]:
    """The strings that would identify a complainant if they showed up in free text.

    Clerks and reviewers write titles, summaries, reasons and callback notes by hand, and may
    name the complainant there ("张三反映…"); those texts are shown to units, so the identity is
    cut out of them as well as out of the complainant fields. Very short names are left alone:
    a one-character string would blank out unrelated words.
    """
    out = []
    for value, shortest in ((complainant.name, 2), (complainant.phone, 5), (complainant.address, 4)):
        value = (value or "").strip()
        if len(value) >= shortest:
            out.append(value)
    return out


def redact(value: Any, secrets: list[str], masked: str) -> Any:
    """`value` (a string, or dicts and lists of them) with every secret replaced by `masked`."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            value = value.replace(secret, masked)
        return value
    if isinstance(value, dict):
        return {key: redact(item, secrets, masked) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item, secrets, masked) for item in value]
    return value
