"""Sessions end when they should, and passwords follow the policy (services/users, sessions, passwords)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.config.policy import SignIn
from duban.errors import AccountDisabled, AuthenticationFailed, InvalidActionInput, WeakPassword
from duban.models import ApiToken, User
from duban.services.passwords import check_password
from duban.services.sessions import RevocationStamp, stamp_for
from duban.services.users import (
    authenticate,
    change_password,
    create_user,
    get_user,
    issue_token,
    set_active,
    set_password,
    sign_out,
    user_for_token,
    users_with_orgs,
)
from tests.appworld import PASSWORD, fast_password_hashing  # noqa: F401
from tests.factories import world

RULES = SignIn(min_length=10, max_length=200)


@pytest.mark.parametrize("password", ["password123", "PASSWORD123", "ＰａｓｓＷｏｒｄ１２３", " password123 ",
                                      "woaini1314", "1qaz2wsx3edc", "1234567890", "aaaaaaaaaaaa",
                                      "abababababab", "qwertyuiop"])
def test_common_passwords_are_refused_in_any_case_width_or_padding(password: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_password(RULES, password)
    assert refused.value.kind == "password_common" and refused.value.field == "password"
    assert password.strip() not in str(refused.value)  # the message never repeats the password


def test_short_long_and_own_name_passwords_are_refused_with_the_rule_named() -> None:
    with pytest.raises(WeakPassword, match="at least 10 characters"):
        check_password(RULES, "Gs#9x!kq")
    with pytest.raises(WeakPassword, match="at most 200"):
        check_password(RULES, "x7" * 101)
    with pytest.raises(WeakPassword, match="common"):
        check_password(RULES, "Zhang.Wei.2023", username="zhang.wei.2023")
    check_password(RULES, "correct horse 甘肃")


def test_the_office_can_add_its_own_common_passwords(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "common-passwords.txt").write_text("# ours\nlanzhou-niurou-mian\n", encoding="utf-8")
    check_password(RULES, "Lanzhou-Niurou-Mian")
    with pytest.raises(WeakPassword):
        check_password(RULES, "Lanzhou-Niurou-Mian", override_dir=tmp_path)


def _user(ctx, name: str = "wang") -> User:  # type: ignore[no-untyped-def]
    return create_user(ctx, username=name, password=PASSWORD, role="clerk", org_code="GS")


def _tokens(engine: Engine, user_id: int) -> int:
    with Session(engine) as session:
        return len(list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id))))


def test_signing_out_ends_every_token_and_page_session_and_announces_it(engine: Engine) -> None:
    ctx = world(engine)
    user, other = _user(ctx), _user(ctx, "li")
    assert user.id is not None and other.id is not None
    tokens = [issue_token(ctx, user)[0] for _ in range(3)]
    kept = issue_token(ctx, other)[0]
    stamp = stamp_for(engine)
    before = stamp.current()
    sign_out(ctx, user.id)
    assert stamp.current() > before
    assert [user_for_token(ctx, t) for t in tokens] == [None, None, None]
    assert get_user(ctx, user.id, epoch=user.session_epoch) is None  # the old cookie's epoch
    assert get_user(ctx, user.id, epoch=user.session_epoch + 1) is not None
    assert user_for_token(ctx, kept) is not None and _tokens(engine, other.id) == 1


def test_a_new_password_ends_every_session_from_the_cli_and_from_the_user(engine: Engine) -> None:
    ctx = world(engine)
    user = _user(ctx)
    assert user.id is not None
    token = issue_token(ctx, user)[0]
    set_password(ctx, "wang", "a brand new passphrase")
    assert user_for_token(ctx, token) is None
    authenticate(ctx, "wang", "a brand new passphrase")
    token = issue_token(ctx, user)[0]
    with pytest.raises(InvalidActionInput) as wrong:
        change_password(ctx, user.id, current="not it at all", new="another passphrase")
    assert wrong.value.field == "current_password" and user_for_token(ctx, token) is not None
    with pytest.raises(WeakPassword) as weak:
        change_password(ctx, user.id, current="a brand new passphrase", new="iloveyou")
    assert weak.value.field == "new_password" and user_for_token(ctx, token) is not None
    change_password(ctx, user.id, current="a brand new passphrase", new="another passphrase")
    assert user_for_token(ctx, token) is None
    with pytest.raises(AuthenticationFailed):
        authenticate(ctx, "wang", "a brand new passphrase")
    with pytest.raises(WeakPassword):
        set_password(ctx, "wang", "12345678")


def test_a_disabled_user_is_told_so_only_after_the_right_password(engine: Engine) -> None:
    ctx = world(engine)
    user = _user(ctx)
    token = issue_token(ctx, user)[0]
    assert set_active(ctx, "wang", False) and not set_active(ctx, "wang", False)
    assert user_for_token(ctx, token) is None
    with pytest.raises(AccountDisabled, match="disabled"):
        authenticate(ctx, "wang", PASSWORD)
    with pytest.raises(AuthenticationFailed) as wrong:
        authenticate(ctx, "wang", "not the password")
    assert type(wrong.value) is AuthenticationFailed  # a guesser learns nothing about the account
    assert set_active(ctx, "wang", True)
    assert authenticate(ctx, "wang", PASSWORD).username == "wang"
    with pytest.raises(InvalidActionInput, match="no user"):
        set_active(ctx, "nobody", False)


def test_the_stamp_only_grows_and_is_shared_through_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    one, two = RevocationStamp(tmp_path / "x.sessions"), RevocationStamp(tmp_path / "x.sessions")
    assert one.current() == two.current() == 0
    for expected in (1, 2, 3):
        one.bump()
        assert two.current() == expected
    assert (tmp_path / "x.sessions").stat().st_mode & 0o777 == 0o600
    memory = RevocationStamp(None)
    memory.bump()
    assert memory.current() == 1


def test_users_are_listed_with_their_org_codes_in_one_query_however_many_there_are(engine: Engine) -> None:
    from sqlalchemy import event

    ctx = world(engine)
    for name, org in (("wu", "GS-LZ-CG"), ("li", "GS-LZ"), ("zhao", "GS")):
        create_user(ctx, username=name, password=PASSWORD, role="clerk", org_code=org)
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        listed = [(user.username, code) for user, code in users_with_orgs(ctx)]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert listed == [("li", "GS-LZ"), ("wu", "GS-LZ-CG"), ("zhao", "GS")]
    assert len(seen) == 1, seen  # not one more per user (`duban user list` asked per user)
