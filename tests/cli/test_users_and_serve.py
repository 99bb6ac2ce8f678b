"""`duban user` and `duban serve`, and the demo accounts serve prints."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from duban.cli import app
from duban.db import create_all, get_engine
from duban.demo.accounts import ensure_demo_accounts
from duban.services import CaseService
from duban.services.orgs import install_orgs
from duban.services.users import authenticate
from tests.appworld import fast_password_hashing  # noqa: F401
from tests.cli.serving import free_port, wait_until_healthy
from tests.factories import DISPATCHER, ORGS, registered, world

runner = CliRunner()
WIDE = {"COLUMNS": "200"}  # messages on one line


def test_user_add_creates_a_user_who_can_sign_in(data_dir: Path) -> None:
    engine = get_engine()
    create_all(engine)
    install_orgs(engine, ORGS)
    result = runner.invoke(app, ["user", "add", "zhang", "--role", "unit", "--org", "GS-LZ-CG-GOV",
                                 "--name", "张科员"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["user", "list"], env={"COLUMNS": "200"})
    assert "zhang" in listed.output and "承办单位" in listed.output
    from duban.services.context import ServiceContext

    assert authenticate(ServiceContext.from_settings(), "zhang", "long enough pw").role == "unit"


def test_user_add_refuses_a_unit_user_at_an_office_naming_the_field(data_dir: Path) -> None:
    engine = get_engine()
    create_all(engine)
    install_orgs(engine, ORGS)
    result = runner.invoke(app, ["user", "add", "li", "--role", "unit", "--org", "GS"],
                           input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 1 and "承办单位的账号须属于一个承办单位" in result.output


def test_demo_accounts_cover_every_role_keep_their_passwords_and_stay_private(engine, tmp_path: Path) -> None:
    ctx = world(engine)
    number = registered(ctx)
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-SWJ"})
    first = ensure_demo_accounts(ctx, tmp_path)
    assert {a.role for a in first} == {"clerk", "dispatcher", "supervisor", "leader", "admin", "unit"}
    assert next(a for a in first if a.role == "unit").org_code == "GS-LZ-CG-SWJ"  # the unit with work
    assert ensure_demo_accounts(ctx, tmp_path) == first
    saved = tmp_path / "demo-accounts.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert {a["username"] for a in json.loads(saved.read_text())} == {a.username for a in first}
    clerk = next(a for a in first if a.username == "clerk")
    assert authenticate(ctx, "clerk", clerk.password).role == "clerk"


def test_serve_answers_on_the_port_it_was_given(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DUBAN_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    command = [sys.executable, "-c", "from duban.cli import main; main()", "serve", "--no-demo",
               "--no-scheduler", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        health = wait_until_healthy(server, port, 60)
        assert health.json() == {"status": "ok"}
        login = httpx.get(f"http://127.0.0.1:{port}/login")
        assert "登录督办系统" in login.text
        assert (tmp_path / "secret_key").is_file()
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0].decode("utf-8", "replace")
    assert f"http://127.0.0.1:{port}/" in output


def test_user_commands_refuse_weak_passwords_and_disable_and_enable(data_dir: Path) -> None:
    engine = get_engine()
    create_all(engine)
    install_orgs(engine, ORGS)
    for weak, says in (("password1234", "密码过于常见"), ("short1", "密码至少需要10个字符"),
                       ("wangwuwang", "密码过于常见")):
        result = runner.invoke(app, ["user", "add", "wangwuwang", "--role", "clerk", "--org", "GS"],
                               input=f"{weak}\n{weak}\n", env=WIDE)
        assert result.exit_code == 1 and says in result.output and "密码" in result.output, result.output
    assert runner.invoke(app, ["user", "add", "wang", "--role", "clerk", "--org", "GS"],
                         input="long enough pw\nlong enough pw\n").exit_code == 0
    refused = runner.invoke(app, ["user", "passwd", "wang", "--password", "iloveyou1314"], env=WIDE)
    assert refused.exit_code == 1 and "密码过于常见" in refused.output
    disabled = runner.invoke(app, ["user", "disable", "wang"], env=WIDE)
    assert disabled.exit_code == 0 and "已停用 wang；其全部登录和接口令牌已失效" in disabled.output
    assert "已停用" in runner.invoke(app, ["user", "list"], env={"COLUMNS": "200"}).output
    from duban.errors import AccountDisabled
    from duban.services.context import ServiceContext

    try:
        authenticate(ServiceContext.from_settings(), "wang", "long enough pw")
        raise AssertionError("a disabled user signed in")
    except AccountDisabled:
        pass
    assert runner.invoke(app, ["user", "enable", "wang"]).exit_code == 0
    assert authenticate(ServiceContext.from_settings(), "wang", "long enough pw").username == "wang"
    unknown = runner.invoke(app, ["user", "disable", "nobody"], env=WIDE)
    assert unknown.exit_code == 1 and "没有这个用户" in unknown.output


def test_user_changes_from_the_cli_are_recorded_under_the_operator_and_shown_by_history(
        data_dir: Path) -> None:
    import getpass

    engine = get_engine()
    create_all(engine)
    install_orgs(engine, ORGS)
    added = runner.invoke(app, ["user", "add", "zhang", "--role", "clerk", "--org", "GS", "--name", "张科员"],
                          input="long enough pw\nlong enough pw\n")
    assert added.exit_code == 0, added.output
    for command in (["user", "disable", "zhang"], ["user", "enable", "zhang"], ["user", "sign-out", "zhang"]):
        done = runner.invoke(app, command, env=WIDE)
        assert done.exit_code == 0, done.output
    shown = runner.invoke(app, ["user", "history", "zhang"], env=WIDE)
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.output.splitlines() if getpass.getuser() in line]
    said = ("添加账号", "停用账号", "启用账号", "结束全部登录")
    assert [next(w for w in said if w in line) for line in lines] == list(said)
    assert "运维人员（命令行）" in shown.output and "角色 受理登记员" in shown.output
    unknown = runner.invoke(app, ["user", "history", "nobody"], env=WIDE)
    assert unknown.exit_code == 1
    verified = runner.invoke(app, ["audit", "verify", "--no-checkpoints"], env=WIDE)
    assert verified.exit_code == 0 and "账号记录：4条事件" in verified.output, verified.output


def test_user_list_and_history_show_a_name_that_looks_like_rich_markup_as_it_is(data_dir: Path) -> None:
    """Any administrator names people on the pages; "[/]" once made `duban user list` fail."""
    engine = get_engine()
    create_all(engine)
    install_orgs(engine, ORGS)
    for username, name in (("zhang", "[/]"), ("li", "[red]李[/red]")):
        added = runner.invoke(app, ["user", "add", username, "--role", "clerk", "--org", "GS",
                                    "--name", name], input="long enough pw\nlong enough pw\n")
        assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["user", "list"], env=WIDE)
    assert listed.exit_code == 0, listed.output
    assert "[/]" in listed.output and "[red]李[/red]" in listed.output
    shown = runner.invoke(app, ["user", "history", "li"], env=WIDE)
    assert shown.exit_code == 0 and "[red]李[/red]" in shown.output, shown.output
