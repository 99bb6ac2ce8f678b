"""Who may see who complained (信访工作条例 art. 30; 个人信息保护法): the one rule, in one place.

The rule is policy (config/policy.toml `[privacy]`); `may_see_identity` applies it to one actor and
one case. duban.services.reading asks it before it builds a query, and selects the raw texts only
for the cases it answers yes for: everyone else reads the redacted twins written with the texts.
"""

from __future__ import annotations

from typing import Any

from duban.config.policy import Privacy
from duban.services.context import Actor
from duban.services.scope import in_region


def may_see_identity(rule: Privacy, actor: Actor, *, actor_code: str | None, office_code: str,
                     unit_id: int | None, consent: bool, delegate_id: int | None = None) -> bool:
    """Whether `actor` may read the identity of a case's complainants.

    Args:
        rule: the policy's `[privacy]` table.
        actor: who reads.
        actor_code: the org code of the actor's org; None for an actor without one (the CLI's
            operator, acting for the whole province).
        office_code: the org code of the office that received the case.
        unit_id: the org handling the case, if any.
        delegate_id: the department the handling unit passed the case on to (二次交办), if any:
            consent covers it as it covers the unit, and nothing more.
        consent: whether every complainant of the case agreed that the handling unit may see them.
    """
    if actor.role in rule.identity_roles:
        return actor.org_id is None or (actor_code is not None and in_region(office_code, actor_code))
    if actor.role in rule.consent_roles and consent:
        return actor.org_id is not None and actor.org_id in (unit_id, delegate_id)
    return False


def may_ever_see_identity(rule: Privacy, actor: Actor) -> bool:
    """Whether any case at all could show this actor identity (else no raw column is ever read)."""
    return actor.role in rule.identity_roles or actor.role in rule.consent_roles


def complainant_view(visible: bool, complainant: Any, masked: str) -> dict[str, Any]:
    """The complainant block of a case page: the person when `visible`, the mask otherwise.

    `complainant` needs `real_name` always, `name`, `phone` and `email` only when visible (a reader
    who may not see them never selects them).
    """
    if complainant is None:
        return {"name": "", "phone": "", "email": "", "real_name": False, "visible": False}
    if visible:
        return {"name": complainant.name, "phone": complainant.phone,
                "email": getattr(complainant, "email", ""),
                "real_name": bool(complainant.real_name), "visible": True}
    return {"name": masked, "phone": masked, "email": masked, "real_name": bool(complainant.real_name),
            "visible": False}
