"""The account record (services/accountaudit.py): every change to an account is a keyed event in
the transaction that makes it, and `duban audit verify` names each rewrite of the record or of a
user row made without one, saying what and where."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from duban.errors import InvalidActionInput
from duban.services import ServiceContext
from duban.services.accountaudit import history, record_existing
from duban.services.auditkeys import load_keyring
from duban.services.checkpoints import Place, write_checkpoint
from duban.services.integrity import verify
from duban.services.users import (
    change_password,
    create_user,
    set_active,
    set_password,
    sign_out_user,
    update_user,
    user_named,
)
from tests.appworld import PASSWORD, fast_password_hashing  # noqa: F401
from tests.factories import world

NEW_PASSWORD = "another horse 兰州"


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    """Two accounts: wang (a clerk made a dispatcher in Lanzhou, then given a new password) and li."""
    ctx = world(engine)
    create_user(ctx, username="wang", password=PASSWORD, role="clerk", org_code="GS", display_name="王科员",
                by="admin", by_role="admin")
    create_user(ctx, username="li", password=PASSWORD, role="supervisor", org_code="GS", by="ops")
    update_user(ctx, "wang", role="dispatcher", org_code="GS-LZ", display_name="王科员", by="admin",
                by_role="admin")
    set_password(ctx, "wang", NEW_PASSWORD, by="admin", by_role="admin")
    return ctx


def _sql(ctx: ServiceContext, *statements: str) -> None:
    """What someone with raw database access does: the guards off first, then the change."""
    if ctx.engine.dialect.name == "sqlite":
        raw = ctx.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA foreign_keys = OFF")
            for name in ("no_update", "no_delete", "no_replace"):
                cursor.execute(f"DROP TRIGGER IF EXISTS account_events_{name}")
            for statement in statements:
                cursor.execute(statement)
            raw.commit()
        finally:
            raw.close()
        return
    with ctx.engine.begin() as conn:  # as a superuser: triggers and foreign keys off here
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement))


def _problems(ctx: ServiceContext, place: Place | None = None) -> list[str]:
    return [str(finding) for finding in verify(ctx, place=place).findings]


def _actions(ctx: ServiceContext, username: str) -> list[str]:
    return [event["action"] for event in history(ctx, username)]


def test_every_change_to_an_account_is_an_event_and_the_record_verifies(ctx: ServiceContext) -> None:
    wang = user_named(ctx, "wang")
    assert wang.id is not None
    set_active(ctx, "wang", False, by="admin", by_role="admin")
    assert not set_active(ctx, "wang", False, by="admin", by_role="admin")  # no change, no event
    set_active(ctx, "wang", True, by="admin", by_role="admin")
    sign_out_user(ctx, "wang", by="admin", by_role="admin")
    change_password(ctx, wang.id, current=NEW_PASSWORD, new=PASSWORD + "!")
    assert not update_user(ctx, "wang", role="dispatcher", org_code="GS-LZ", display_name="王科员")
    assert _actions(ctx, "wang") == ["account_add", "account_change", "account_password", "account_disable",
                                     "account_enable", "account_sign_out", "account_password_own"]
    events = history(ctx, "wang")
    assert (events[0]["actor"], events[0]["actor_role"]) == ("admin", "admin")
    assert events[0]["data"] == {"role": "clerk", "org": "GS", "display_name": "王科员"}
    assert events[1]["data"] == {"role": ["clerk", "dispatcher"], "org": ["GS", "GS-LZ"],
                                 "sessions_ended": True}
    assert (events[-1]["actor"], events[-1]["actor_role"]) == ("wang", "dispatcher")
    assert [e["actor"] for e in history(ctx, "li")] == ["ops"]
    report = verify(ctx)
    assert report.findings == [] and report.account_events == 8


def test_no_password_or_hash_is_ever_in_the_record(ctx: ServiceContext) -> None:
    stored = user_named(ctx, "wang").password_hash
    with ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM account_events")).all()
    dump = repr(rows)
    assert rows and NEW_PASSWORD not in dump and PASSWORD not in dump and stored not in dump
    assert "argon2" not in dump


def test_a_refused_change_writes_no_event(ctx: ServiceContext) -> None:
    before = _actions(ctx, "wang")
    with pytest.raises(InvalidActionInput):
        update_user(ctx, "wang", role="unit", org_code="GS", display_name="王科员")
    with pytest.raises(InvalidActionInput):
        create_user(ctx, username="wang", password=PASSWORD, role="clerk", org_code="GS")
    assert _actions(ctx, "wang") == before and _problems(ctx) == []


def test_a_change_whose_event_cannot_be_written_changes_nothing(ctx: ServiceContext,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import duban.services.users as users

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the record refused")

    monkeypatch.setattr(users, "record", broken)
    with pytest.raises(RuntimeError):
        update_user(ctx, "wang", role="admin", org_code="GS", display_name="王科员")
    with pytest.raises(RuntimeError):
        set_active(ctx, "li", False)
    assert (user_named(ctx, "wang").role, user_named(ctx, "li").active) == ("dispatcher", True)


@pytest.mark.parametrize("statement", [
    "UPDATE account_events SET actor = 'someone' WHERE seq = 1",
    "DELETE FROM account_events WHERE seq = 3",
    "DELETE FROM account_events",
])
def test_the_database_refuses_to_change_or_delete_an_account_event(ctx: ServiceContext,
                                                                    statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as conn:
        conn.execute(text(statement))


@pytest.mark.parametrize(("statement", "said"), [
    ("UPDATE account_events SET data = "
     "'{\"role\": \"leader\", \"org\": \"GS\", \"display_name\": \"王科员\"}' WHERE seq = 1",
     "（账号记录）: 账号事件1（添加账号，wang）被改动"),
    ("UPDATE account_events SET actor = 'nobody' WHERE seq = 3",
     "（账号记录）: 账号事件3（修改账号，wang）被改动"),
    ("UPDATE account_events SET at = at WHERE seq = 2", None),  # the same value: nothing to name
])
def test_an_account_event_edited_is_named(ctx: ServiceContext, statement: str, said: str | None) -> None:
    _sql(ctx, statement)
    assert _problems(ctx) == ([said] if said else [])


def test_an_account_event_deleted_in_the_middle_is_named_missing(ctx: ServiceContext) -> None:
    _sql(ctx, "DELETE FROM account_events WHERE seq = 3")
    problems = _problems(ctx)
    assert problems[0] == "（账号记录）: 账号事件3缺失（下一条是事件4）"
    assert "用户 wang: 与账号记录不符：role现为'dispatcher', event 4 (account_password) " \
           "says" not in " ".join(problems)  # event 4 still fixes wang's facts after the change


def test_the_last_account_event_deleted_is_named_by_the_user_row(ctx: ServiceContext) -> None:
    _sql(ctx, "DELETE FROM account_events WHERE seq = 4")  # wang's new password: the facts still fit
    assert _problems(ctx) == ["用户 wang: 账号事件3之后的事件缺失（用户记录记到事件4）"]


def test_the_record_cut_back_and_the_user_row_rewritten_to_fit_is_named_field_by_field(
        ctx: ServiceContext) -> None:
    _sql(ctx, "DELETE FROM account_events WHERE seq >= 3",
         "UPDATE users SET account_seq = 1 WHERE username = 'wang'")
    assert _problems(ctx) == [
        "用户 wang: 与账号记录不符：role现为'dispatcher'，事件1（添加账号）记为"
        "'clerk'（未经事件修改）",
        f"用户 wang: 与账号记录不符：org_id现为{user_named(ctx, 'wang').org_id}，事件1（添加账号）记为"
        f"{_org_of_event_one(ctx)}（未经事件修改）",
    ]


def _org_of_event_one(ctx: ServiceContext) -> int:
    import json

    with ctx.engine.connect() as conn:
        facts = conn.execute(text("SELECT facts FROM account_events WHERE seq = 1")).scalar_one()
    return int(json.loads(facts)["org_id"])


def test_account_events_swapped_are_named(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE account_events SET seq = 99 WHERE seq = 2",
         "UPDATE account_events SET seq = 2 WHERE seq = 3",
         "UPDATE account_events SET seq = 3 WHERE seq = 99")
    problems = _problems(ctx)
    assert "（账号记录）: 账号事件2（修改账号，wang）被改动" in problems
    assert "（账号记录）: 账号事件3（添加账号，li）被改动" in problems


def test_a_role_rewritten_in_the_database_without_an_event_is_named(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE users SET role = 'admin' WHERE username = 'li'")
    assert _problems(ctx) == [
        "用户 li: 与账号记录不符：role现为'admin'，事件2（添加账号）记为'supervisor'（未经事件修改）"]


@pytest.mark.parametrize(("statement", "field"), [
    ("UPDATE users SET active = {false} WHERE username = 'li'", "active"),
    ("UPDATE users SET display_name = '假名' WHERE username = 'li'", "display_name"),
    ("UPDATE users SET org_id = (SELECT id FROM orgs WHERE code = 'GS-LZ') WHERE username = 'li'", "org_id"),
])
def test_each_fact_of_a_user_row_changed_without_an_event_is_named(ctx: ServiceContext, statement: str,
                                                                   field: str) -> None:
    false = "false" if ctx.engine.dialect.name == "postgresql" else "0"
    _sql(ctx, statement.format(false=false))
    [problem] = _problems(ctx)
    assert problem.startswith(f"用户 li: 与账号记录不符：{field}现为")


def test_a_user_added_or_deleted_without_an_event_is_named(ctx: ServiceContext) -> None:
    wang_hash = user_named(ctx, "wang").password_hash
    _sql(ctx, "INSERT INTO users (username, display_name, role, org_id, password_hash, active, created_at, "
              f"session_epoch, account_seq) SELECT 'mole', '', 'admin', org_id, '{wang_hash}', active, "
              "created_at, 0, 0 "
              "FROM users WHERE username = 'wang'",
         "DELETE FROM users WHERE username = 'li'")
    assert _problems(ctx) == [
        "用户 mole: 没有任何账号事件记载（在账号记录之外添加或改名）",
        "用户 li: 由账号事件2（添加账号）记载，用户记录已缺失（被删除）"]


def test_events_made_with_a_key_that_is_not_among_the_audit_keys_are_named(ctx: ServiceContext,
                                                                            tmp_path: Path) -> None:
    from duban.config.settings import Settings

    other = load_keyring(Settings(data_dir=tmp_path, audit_key_file=tmp_path / "other-keys.json"))
    stranger = ServiceContext(engine=ctx.engine, audit_keys=other)
    set_active(stranger, "li", False, by="intruder")
    assert any("账号事件5（停用账号，li）使用的密钥" in p and "未知密钥" in p
               for p in _problems(ctx))


def test_the_record_cut_back_with_the_user_row_restored_is_named_by_the_checkpoint(
        ctx: ServiceContext, tmp_path: Path) -> None:
    place = Place(tmp_path / "audit", tmp_path / "cp.pem")
    write_checkpoint(ctx.engine, place)
    set_active(ctx, "li", False, by="admin", by_role="admin")
    write_checkpoint(ctx.engine, place)
    assert _problems(ctx, place) == []
    true = "true" if ctx.engine.dialect.name == "postgresql" else "1"
    _sql(ctx, "DELETE FROM account_events WHERE seq = 5",
         f"UPDATE users SET active = {true}, account_seq = 2 WHERE username = 'li'")
    assert _problems(ctx, place) == [
        "（账号记录）: 账号记录倒退了：检查点2见过事件5，记录现在只到4"]
    line = write_checkpoint(ctx.engine, place)  # the next checkpoint fixes the alarm under its signature
    assert line["alarms"] == [
        "（账号记录）: 账号记录自检查点2之后倒退了（当时是事件5，现在是4）"]


def test_users_from_before_the_record_are_named_until_recorded_and_then_verify(ctx: ServiceContext) -> None:
    wang_hash = user_named(ctx, "wang").password_hash
    _sql(ctx, "INSERT INTO users (username, display_name, role, org_id, password_hash, active, created_at, "
              f"session_epoch, account_seq) SELECT 'old.hand', '老张', 'clerk', org_id, '{wang_hash}', "
              "active, created_at, 0, 0 "
              "FROM users WHERE username = 'li'")
    assert _problems(ctx) == [
        "用户 old.hand: 没有任何账号事件记载（在账号记录之外添加或改名）"]
    with ctx.engine.begin() as conn:
        assert record_existing(conn, at=ctx.now(), keys=ctx.audit_keys) == 1
        assert record_existing(conn, at=ctx.now(), keys=ctx.audit_keys) == 0
    assert _problems(ctx) == [] and _actions(ctx, "old.hand") == ["account_recorded"]


def test_a_restored_backup_has_the_accounts_and_record_of_its_moment(ctx: ServiceContext,
                                                                     tmp_path: Path) -> None:
    from duban.services.backup import backup, restore

    if ctx.engine.dialect.name == "postgresql" and not __import__("shutil").which("pg_dump"):
        pytest.fail("pg_dump is needed for PostgreSQL backups (scripts/pg installs it)")
    target = backup(ctx.engine, tmp_path / "duban.backup")
    update_user(ctx, "li", role="admin", org_code="GS", display_name="李", by="admin", by_role="admin")
    ctx.engine.dispose()
    restore(ctx.engine.url.render_as_string(hide_password=False), target)
    assert user_named(ctx, "li").role == "supervisor" and len(_actions(ctx, "li")) == 1
    report = verify(ctx)
    assert report.findings == [] and report.account_events == 4
    with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM account_events WHERE seq = 4"))


def test_the_application_role_may_not_rewrite_or_empty_the_record_on_postgresql(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's")
    from sqlalchemy import make_url

    from duban.db import make_engine
    from duban.models.audit import APP_ROLE

    with ctx.engine.begin() as conn:
        conn.execute(text("DROP ROLE IF EXISTS duban_accounts_test"))
        conn.execute(text(f"CREATE ROLE duban_accounts_test LOGIN IN ROLE {APP_ROLE}"))
    url = make_url(ctx.engine.url.render_as_string(hide_password=False)).set(username="duban_accounts_test")
    app = make_engine(url.render_as_string(hide_password=False))
    try:
        for statement in ("UPDATE account_events SET actor = 'x' WHERE seq = 2",
                          "DELETE FROM account_events WHERE seq = 3", "TRUNCATE account_events"):
            with pytest.raises(DBAPIError, match="permission denied"), app.begin() as conn:
                conn.execute(text(statement))
        served = ServiceContext(engine=app, clock=ctx.clock, audit_keys=ctx.audit_keys)
        set_active(served, "li", False, by="admin", by_role="admin")  # the service works as that role
    finally:
        app.dispose()
        with ctx.engine.begin() as conn:
            conn.execute(text("DROP OWNED BY duban_accounts_test"))
            conn.execute(text("DROP ROLE duban_accounts_test"))
    assert _problems(ctx) == []


def test_administrators_changing_accounts_at_once_leave_one_unbroken_record(ctx: ServiceContext) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def change(i: int) -> None:
        create_user(ctx, username=f"u{i}", password=PASSWORD, role="clerk", org_code="GS", by="admin",
                    by_role="admin")
        set_active(ctx, f"u{i}", False, by="admin", by_role="admin")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(change, range(8)))
    report = verify(ctx)
    assert report.findings == [] and report.account_events == 4 + 16
    assert all(_actions(ctx, f"u{i}") == ["account_add", "account_disable"] for i in range(8))
