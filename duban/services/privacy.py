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


def complainant_view(actor: Actor | None, complainant: Any, masked: str) -> dict[str, Any]:
    """The complainant as the actor may see it; masked fields say so rather than vanish."""
    if complainant is None:
        return {"name": "", "phone": "", "real_name": False, "visible": False}
    if may_see_complainant(actor, complainant):
        return {"name": complainant.name, "phone": complainant.phone,
                "real_name": complainant.real_name, "visible": True}
    return {"name": masked, "phone": masked, "real_name": complainant.real_name, "visible": False}
