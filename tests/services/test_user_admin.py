"""Account administration as the admin pages and `duban user` do it (services/users.py): a user's
name, role and org change, the rules a new user meets, what ends their sessions, and the log."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.engine import Engine

from duban.errors import InvalidActionInput
from duban.services import ServiceContext
from duban.services.accountaudit import history
from duban.services.accountreach import reach_of
from duban.services.users import (
    create_user,
    display_names,
    get_user,
    issue_token,
    set_active,
    set_password,
    sign_out_user,
    update_user,
    user_for_token,
    user_named,
    users_with_orgs,
)
from tests.appworld import PASSWORD, fast_password_hashing  # noqa: F401
from tests.factories import org_id, world


def test_a_new_role_or_org_ends_every_session_and_a_new_name_does_not(engine: Engine) -> None:
    ctx = world(engine)
    user = create_user(ctx, username="wang", password=PASSWORD, role="clerk", org_code="GS",
                       display_name="王科员")
    assert user.id is not None
    token = issue_token(ctx, user)[0]
    assert update_user(ctx, "wang", role="clerk", org_code="GS", display_name=" 王小明 ")
    assert get_user(ctx, user.id, epoch=user.session_epoch) is not None and user_for_token(ctx, token)
    assert display_names(ctx)["wang"] == "王小明"
    assert update_user(ctx, "wang", role="dispatcher", org_code="GS-LZ", display_name="王小明")
    assert get_user(ctx, user.id, epoch=user.session_epoch) is None and user_for_token(ctx, token) is None
    moved = get_user(ctx, user.id)
    assert moved is not None and moved.role == "dispatcher" and moved.org_id == org_id(ctx, "GS-LZ")
    assert not update_user(ctx, "wang", role="dispatcher", org_code="GS-LZ", display_name="王小明")


@pytest.mark.parametrize(("role", "org", "field", "kind"), [
    ("unit", "GS", "org_code", "user_unit_org"),
    ("clerk", "GS-LZ-CG-GOV", "org_code", "user_office_org"),
    ("clerk", "GS-NOPE", "org_code", "unknown_org"),
    ("root", "GS", "role", "user_role"),
])
def test_a_role_and_org_that_do_not_fit_are_refused_naming_the_field_and_change_nothing(
        engine: Engine, role: str, org: str, field: str, kind: str) -> None:
    ctx = world(engine)
    user = create_user(ctx, username="wang", password=PASSWORD, role="clerk", org_code="GS")
    for attempt in (lambda: update_user(ctx, "wang", role=role, org_code=org, display_name="某某"),
                    lambda: create_user(ctx, username="li", password=PASSWORD, role=role, org_code=org)):
        with pytest.raises(InvalidActionInput) as refused:
            attempt()
        assert (refused.value.field, refused.value.kind) == (field, kind)
        assert kind in ctx.labels.errors
    kept = get_user(ctx, user.id or 0, epoch=user.session_epoch)
    assert kept is not None and (kept.role, kept.display_name) == ("clerk", "")
    assert "li" not in {u for u in display_names(ctx)} and get_user(ctx, (user.id or 0) + 1) is None


def test_a_taken_or_malformed_user_name_and_an_unknown_user_are_refused_in_kinds_pages_can_say(
        engine: Engine) -> None:
    ctx = world(engine)
    create_user(ctx, username="wang", password=PASSWORD, role="clerk", org_code="GS")
    for username, kind in (("wang", "username_taken"), ("王", "username_format"), ("-x", "username_format")):
        with pytest.raises(InvalidActionInput) as refused:
            create_user(ctx, username=username, password=PASSWORD, role="clerk", org_code="GS")
        assert refused.value.kind == kind and kind in ctx.labels.errors
    for change in (lambda: update_user(ctx, "nobody", role="clerk", org_code="GS", display_name=""),
                   lambda: set_active(ctx, "nobody", False), lambda: set_password(ctx, "nobody", PASSWORD)):
        with pytest.raises(InvalidActionInput) as refused:
            change()
        assert refused.value.kind == "user_unknown"


def test_every_change_is_logged_with_who_made_it_and_never_the_password(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    ctx = world(engine)
    with caplog.at_level(logging.INFO, logger="duban.users"):
        create_user(ctx, username="wang", password=PASSWORD, role="clerk", org_code="GS", by="admin")
        update_user(ctx, "wang", role="supervisor", org_code="GS", display_name="王", by="admin")
        set_password(ctx, "wang", "another horse 兰州", by="admin")
        set_active(ctx, "wang", False, by="admin")
        set_active(ctx, "wang", False, by="admin")  # nothing changed: nothing logged
    lines = [r.getMessage() for r in caplog.records if r.name == "duban.users"]
    assert len(lines) == 4 and all(line.startswith("user wang") or line.startswith("password of user wang")
                                   for line in lines)
    assert all(line.endswith("by admin") for line in lines)
    assert not any(PASSWORD in line or "another horse" in line for line in lines)


@pytest.mark.parametrize("username", ["wang\n", "Wang", "WANG", "ｗａｎｇ", "wang li", "wang\u202e"])
def test_a_user_name_with_a_line_end_other_characters_or_another_case_of_one_taken_is_refused(
        engine: Engine, username: str) -> None:
    ctx = world(engine)
    create_user(ctx, username="wang", password=PASSWORD, role="clerk", org_code="GS")
    with pytest.raises(InvalidActionInput) as refused:
        create_user(ctx, username=username, password=PASSWORD, role="clerk", org_code="GS")
    assert refused.value.field == "username"
    assert refused.value.kind in ("username_format", "username_taken")
    assert len(users_with_orgs(ctx)) == 1 and history(ctx, username) == []


@pytest.mark.parametrize(("name", "kind"), [
    ("王\u202e丽", "display_name_chars"),   # a bidi override: the rest of the line shown reversed
    ("王\u2066丽\u2069", "display_name_chars"),
    ("王\u200b丽", "display_name_chars"),   # zero-width: two names that look alike
    ("王丽\x1b[2J", "display_name_chars"),  # a terminal's escape (`duban user list`)
    ("王\n丽", "display_name_chars"),
    ("王" * 61, "string_too_long"),         # refused, not cut to 60 without a word
])
def test_a_display_name_with_a_control_or_format_character_or_too_long_is_refused_not_cut(
        engine: Engine, name: str, kind: str) -> None:
    ctx = world(engine)
    user = create_user(ctx, username="wang", password=PASSWORD, role="clerk", org_code="GS",
                       display_name="王科员")
    for attempt in (lambda: create_user(ctx, username="li", password=PASSWORD, role="clerk", org_code="GS",
                                        display_name=name),
                    lambda: update_user(ctx, "wang", role="clerk", org_code="GS", display_name=name)):
        with pytest.raises(InvalidActionInput) as refused:
            attempt()
        assert (refused.value.field, refused.value.kind) == ("display_name", kind)
        assert kind in ctx.labels.errors
    assert display_names(ctx) == {"wang": "王科员"} and len(history(ctx, "wang")) == 1
    assert get_user(ctx, user.id or 0, epoch=user.session_epoch) is not None


def test_a_display_name_of_sixty_characters_with_inner_spaces_and_markup_is_kept_as_typed(
        engine: Engine) -> None:
    ctx = world(engine)
    create_user(ctx, username="wang", password=PASSWORD, role="clerk", org_code="GS",
                display_name=" 欧阳\u3000<b>[红]</b>" + "丽" * 47 + " ")
    assert display_names(ctx)["wang"] == "欧阳\u3000<b>[红]</b>" + "丽" * 47


def _admins(ctx: ServiceContext, *names: str) -> None:
    for name in names:
        create_user(ctx, username=name, password=PASSWORD, role="admin", org_code="GS")


def test_the_last_active_administrator_is_neither_disabled_nor_given_another_role_even_from_the_cli(
        engine: Engine) -> None:
    ctx = world(engine)
    _admins(ctx, "a")
    demote = lambda: update_user(ctx, "a", role="clerk", org_code="GS", display_name="")  # noqa: E731
    for change, field in ((lambda: set_active(ctx, "a", False), "active"), (demote, "role")):
        with pytest.raises(InvalidActionInput) as refused:
            change()
        assert (refused.value.field, refused.value.kind) == (field, "last_admin")
    assert "last_admin" in ctx.labels.errors
    kept = user_named(ctx, "a")
    assert (kept.role, kept.active) == ("admin", True)
    assert [e["action"] for e in history(ctx, "a")] == ["account_add"]
    update_user(ctx, "a", role="admin", org_code="GS-LZ", display_name="")  # moved, still an administrator
    _admins(ctx, "b")
    assert set_active(ctx, "a", False)  # b is left


def test_two_administrators_disabling_each_other_at_once_leave_one(engine: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ctx = world(engine)
    _admins(ctx, "a", "b")

    def disable(pair: tuple[str, str]) -> str:
        by, whom = pair
        try:
            set_active(ctx, whom, False, by=by, by_role="admin")
        except InvalidActionInput as refused:
            return refused.kind
        return "done"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(disable, [("a", "b"), ("b", "a")]))
    assert outcomes == ["done", "last_admin"]
    assert sum(user_named(ctx, name).active for name in ("a", "b")) == 1


def test_an_administrators_reach_bounds_whom_they_change_and_which_org_they_give(engine: Engine) -> None:
    ctx = world(engine)
    create_user(ctx, username="lz", password=PASSWORD, role="admin", org_code="GS-LZ")
    create_user(ctx, username="gs", password=PASSWORD, role="clerk", org_code="GS")
    create_user(ctx, username="cg", password=PASSWORD, role="dispatcher", org_code="GS-LZ-CG")
    reach = reach_of(ctx, user_named(ctx, "lz"))
    assert (reach.region, reach.region_name) == ("GS-LZ", "兰州市办（GS-LZ）")
    for change in (lambda: set_password(ctx, "gs", "another horse 兰州", reach=reach),
                   lambda: set_active(ctx, "gs", False, reach=reach),
                   lambda: sign_out_user(ctx, "gs", reach=reach),
                   lambda: update_user(ctx, "gs", role="clerk", org_code="GS-LZ", display_name="",
                                       reach=reach)):
        with pytest.raises(InvalidActionInput) as refused:
            change()
        assert refused.value.kind == "user_unknown"  # not theirs: as if not there
    for change in (lambda: create_user(ctx, username="li", password=PASSWORD, role="clerk",
                                       org_code="GS", reach=reach),
                   lambda: create_user(ctx, username="li", password=PASSWORD, role="unit",
                                       org_code="GS-LX-GOV", reach=reach),
                   lambda: update_user(ctx, "cg", role="dispatcher", org_code="GS", display_name="",
                                       reach=reach)):
        with pytest.raises(InvalidActionInput) as refused:
            change()
        assert (refused.value.field, refused.value.kind) == ("org_code", "org_out_of_reach")
    assert [u.username for u, _ in users_with_orgs(ctx, reach=reach)] == ["cg", "lz"]
    assert [len(history(ctx, name)) for name in ("gs", "cg", "li")] == [1, 1, 0]
    assert update_user(ctx, "cg", role="supervisor", org_code="GS-LZ", display_name="", reach=reach)
