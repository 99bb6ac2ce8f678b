"""The complainant's e-mail comes in by every door a complaint does (API, page form, CLI, ledger
import), is refused when it is no address, and is kept like the phone: identity."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlmodel import Session, select

from duban.db import create_all, get_engine
from duban.importer import import_file
from duban.models import Complainant
from duban.services.orgs import install_orgs
from tests.appworld import AppWorld
from tests.cli_runner import run
from tests.factories import CLERK, ORGS, world
from tests.importer.ledger import HEADERS, row, xlsx

EMAIL = "fankuiren@example.cn"
COMPLAINT = {"office_code": "GS", "title": "城关区供水中断", "complainant_name": "王某",
             "complainant_phone": "13912345678", "complainant_real_name": True}


def _emails(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.scalars(select(Complainant.email).order_by(Complainant.id)))


def test_the_api_registers_the_email_and_shows_it_only_to_identity_roles(
        aw: AppWorld, client: httpx.Client) -> None:
    answer = client.post("/api/cases", json={**COMPLAINT, "complainant_email": EMAIL},
                         headers=aw.auth("clerk"))
    assert answer.status_code == 201, answer.text
    number = answer.json()["case"]["number"]
    assert _emails(aw.ctx.engine) == [EMAIL]
    seen = client.get(f"/api/cases/{number}", headers=aw.auth("dispatcher")).json()["complainant"]
    assert seen["email"] == EMAIL
    client.post(f"/api/cases/{number}/actions/transfer", json={"form": {"unit": "GS-LZ-CG-GOV"}},
                headers=aw.auth("dispatcher"))
    unit = client.get(f"/api/cases/{number}", headers=aw.auth("unit"))
    assert unit.status_code == 200 and EMAIL not in unit.text


def test_an_email_that_is_no_address_is_refused_naming_the_field(aw: AppWorld, client: httpx.Client) -> None:
    for bad in ("not-an-address", "a@b", "两个@@例子.cn", "x" * 120 + "@example.cn"):
        answer = client.post("/api/cases", json={**COMPLAINT, "complainant_email": bad},
                             headers=aw.auth("clerk"))
        assert answer.status_code == 422 and answer.json()["field"] == "complainant_email", bad
    assert _emails(aw.ctx.engine) == []


def test_a_ledger_column_named_for_email_is_read(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = world(engine, start="2023-03-10 09:00")
    path = xlsx(tmp_path / "ledger.xlsx", [row(1, 邮箱=EMAIL), row(2, 邮箱="")], headers=[*HEADERS, "邮箱"])
    assert import_file(ctx, path, actor=CLERK).created == 2
    assert _emails(engine) == [EMAIL, ""]


def test_the_cli_registers_the_email(data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    run("case", "create", "--office", "GS", "--title", "城关区供水中断", "--phone", "13912345678",
        "--email", EMAIL, "--real-name", "--received", "2023-09-27 09:00")
    assert _emails(get_engine()) == [EMAIL]
