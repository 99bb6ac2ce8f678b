"""Who may see who complained: the one rule (privacy.may_see_identity), as a table, and its policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from duban.config.policy import Privacy, load_policy
from duban.errors import ConfigError
from duban.services.context import Actor
from duban.services.privacy import may_see_identity

RULE = Privacy()  # the default: clerks and dispatchers; consent lifts it for the unit
UNIT, OTHER_UNIT = 7, 8

# (role, actor's org code or None for no org, receiving office, handling unit, consent) -> sees?
TABLE = [
    # the receiving office's clerks and dispatchers
    ("clerk", "GS-LZ-CG", "GS-LZ-CG", UNIT, False, True),
    ("dispatcher", "GS-LZ-CG", "GS-LZ-CG", UNIT, False, True),
    # and those of the offices above it
    ("dispatcher", "GS-LZ", "GS-LZ-CG", UNIT, False, True),
    ("clerk", "GS", "GS-LZ-CG", None, False, True),
    # but not of an office below it, beside it, or one whose code merely starts alike
    ("dispatcher", "GS-LZ-CG", "GS-LZ", UNIT, False, False),
    ("dispatcher", "GS-LZ-CG", "GS", UNIT, False, False),
    ("dispatcher", "GS-LX", "GS-LZ-CG", UNIT, False, False),
    ("dispatcher", "GS-L", "GS-LZ", UNIT, False, False),
    # an identity role without an org acts for the whole province (the CLI's operator)
    ("dispatcher", None, "GS-LZ-CG", UNIT, False, True),
    # everyone else reads redacted, in the receiving office or not
    ("supervisor", "GS", "GS", UNIT, False, False),
    ("leader", "GS", "GS", UNIT, True, False),
    ("admin", "GS", "GS", UNIT, True, False),
    ("admin", None, "GS", UNIT, True, False),
    ("engine", None, "GS", UNIT, True, False),
    # the handling unit: only with consent, and only its own case
    ("unit", "GS-LZ-CG-GOV", "GS", UNIT, False, False),
    ("unit", "GS-LZ-CG-GOV", "GS", UNIT, True, True),
    ("unit", "GS-LZ-CG-SWJ", "GS", UNIT, True, False),
    ("unit", "GS-LZ-CG-GOV", "GS", None, True, False),
]


@pytest.mark.parametrize(("role", "code", "office", "unit_id", "consent", "sees"), TABLE)
def test_who_may_see_identity_follows_the_policy_table(
        role: str, code: str | None, office: str, unit_id: int | None, consent: bool, sees: bool) -> None:
    org_id = None if code is None else OTHER_UNIT if code == "GS-LZ-CG-SWJ" else UNIT if role == "unit" else 1
    actor = Actor("某人", role, org_id)
    assert may_see_identity(RULE, actor, actor_code=code, office_code=office, unit_id=unit_id,
                            consent=consent) is sees


def test_an_office_may_widen_the_identity_roles_by_policy() -> None:
    rule = Privacy(identity_roles=["clerk", "dispatcher", "supervisor"], consent_roles=[])
    supervisor = Actor("审核员", "supervisor", 1)
    assert may_see_identity(rule, supervisor, actor_code="GS", office_code="GS-LZ", unit_id=None,
                            consent=False)
    unit = Actor("承办人", "unit", UNIT)
    assert not may_see_identity(rule, unit, actor_code="GS-LZ-CG-GOV", office_code="GS", unit_id=UNIT,
                                consent=True)


@pytest.mark.parametrize(("toml", "key"), [
    ('[privacy]\nidentity_roles = ["clerk", "engine"]\n', "privacy"),
    ('[privacy]\nidentity_roles = ["clerk", "janitor"]\n', "privacy.identity_roles.1"),
    ('[privacy]\nidentity_roles = ["unit"]\nconsent_roles = ["unit"]\n', "privacy"),
])
def test_a_bad_privacy_policy_is_refused_naming_the_key(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / "policy.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(tmp_path)
    assert info.value.key == key


def test_the_packaged_policy_says_clerks_and_dispatchers_see_identity() -> None:
    rule = load_policy().privacy
    assert sorted(rule.identity_roles) == ["clerk", "dispatcher"] and rule.consent_roles == ["unit"]
