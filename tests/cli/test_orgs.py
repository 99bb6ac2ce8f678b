"""`duban org`: the contacts the escalation ladder writes to, set and shown from the command line."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from duban.cli import app
from duban.db import create_all, get_engine
from duban.services.orgs import install_orgs, org_by_code
from tests.cli_runner import run, runner
from tests.factories import ORGS


def test_an_office_sets_and_clears_a_units_ladder_contacts(data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    assert "—（不发送）" in run("org", "show", "GS-LZ-CG-SWJ")
    out = run("org", "contacts", "GS-LZ-CG-SWJ", "--head", "swj.head@duban.example",
              "--leader", "gs-lz-cg-gov.fg-swj@duban.example")
    assert "swj.head@duban.example" in out and "gs-lz-cg-gov.fg-swj@duban.example" in out
    with Session(get_engine()) as session:
        org = org_by_code(session, "GS-LZ-CG-SWJ")
        assert (org.head_email, org.leader_email) == ("swj.head@duban.example",
                                                      "gs-lz-cg-gov.fg-swj@duban.example")
    run("org", "contacts", "GS-LZ-CG-SWJ", "--leader", "")  # cleared; the head is kept
    with Session(get_engine()) as session:
        org = org_by_code(session, "GS-LZ-CG-SWJ")
        assert (org.head_email, org.leader_email) == ("swj.head@duban.example", "")


def test_a_contact_that_is_no_address_or_the_units_own_mailbox_is_refused(data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    not_an_address = runner.invoke(app, ["org", "contacts", "GS-LZ-CG-SWJ", "--head", "局长王某"])
    assert not_an_address.exit_code == 1
    assert "主要负责同志邮箱（--head）须为电子邮箱地址" in not_an_address.output
    assert "局长王某" not in not_an_address.output  # a refusal never repeats the input
    own = runner.invoke(app, ["org", "contacts", "GS-LZ-CG-SWJ", "--leader", "gs-lz-cg-swj@duban.example"])
    assert own.exit_code == 1 and "同级政府分管领导邮箱（--leader）不能与单位邮箱相同" in own.output
    unknown = runner.invoke(app, ["org", "contacts", "GS-NOPE", "--head", "a@b.cn"])
    assert unknown.exit_code == 1 and "单位不存在" in unknown.output
