"""`duban sweep`, `duban notify`, `duban callbacks`, `duban simulate` as an office runs them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlmodel import Session

from duban.cli import app
from duban.db import create_all, get_engine
from duban.models import Notification
from duban.services.orgs import install_orgs
from tests.cli_runner import run, runner
from tests.english import english
from tests.factories import ORGS


@pytest.fixture
def data_dir(data_dir: Path) -> Path:
    """The shared data folder, with the schema and the small org tree in it."""
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    return data_dir


def test_a_sweep_now_prints_what_it_did(data_dir: Path) -> None:
    out = json.loads(run("sweep"))
    assert out["visited"] == 0 and out["steps"] == {}


def test_failed_mail_is_listed_and_can_be_queued_again(data_dir: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    with Session(get_engine()) as session:
        session.add(Notification(kind="remind", audience="unit", to_address="gone@gs.example",
                                 subject="【催办】测试", body="正文", message_id="<t1@duban.local>",
                                 status="failed", attempts=1, last_error="gone@gs.example: 550 unknown",
                                 next_attempt_at=now, created_at=now))
        session.commit()
    listing = run("notify", "list", "--failed")
    assert "gone@gs.example" in listing and "550 unknown" in listing and "发送失败" in listing
    assert "1条消息已重新排队发送" in run("notify", "retry", "1")
    assert "gone@gs.example" not in run("notify", "list", "--failed")
    assert "待发送" in run("notify", "list", "--pending")


def test_the_callback_queue_lists_nothing_on_a_new_database(data_dir: Path) -> None:
    assert json.loads(run("callbacks", "sample"))["considered"] == 0
    assert "回访人员" in run("callbacks", "list")


def test_simulate_prints_two_policies_side_by_side(data_dir: Path, tmp_path: Path) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text('[callbacks]\nratio = 1.0\n', encoding="utf-8")
    out = run("simulate", "--from", "2023-02-13", "--to", "2023-02-28", "--per-day", "3",
              "--against", str(strict))
    assert "本版本的督办规定" in out and "strict.toml" in out
    for row in ("受理案件", "催办", "按期办结率", "列入抽查回访", "期末超期案件"):
        assert row in out
    assert not english(out), english(out)


def test_simulate_compare_sets_interviews_and_notices_automatic_then_proposed(data_dir: Path) -> None:
    out = run("simulate", "--from", "2023-02-13", "--to", "2023-02-28", "--per-day", "3",
              "--compare", "--confirm-rate", "0.5")
    assert "自动执行" in out and "提出建议" in out and "本版本的督办规定" not in out
    # A decision row per step some run proposes: "—" in the automatic run for the two compared,
    # counts in both for 升级督办, which the packaged policy proposes in either run.
    decisions = [line for line in out.splitlines() if "提出 / 同意 / 不予采纳 / 撤回" in line]
    assert len(decisions) == 3
    assert sum("—（自动执行）" in line for line in decisions) == 2
    assert "以50%的概率同意" in out  # it says what the decider models
    assert not english(out), english(out)


def test_simulate_refuses_a_step_the_ladder_does_not_have(data_dir: Path) -> None:
    result = runner.invoke(app, ["simulate", "--to", "2023-02-14", "--compare", "--propose",
                                 "interview,lunch"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "--propose" in result.output
