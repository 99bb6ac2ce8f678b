"""`duban org`: the org directory's contacts that the escalation ladder writes to.

重要工作提示 goes to an org's top official (主要负责同志) and 抄告 to the same-level government's
leader in charge of it (同级政府分管领导); without them on file those steps are recorded as not
sent (docs/engine.md).
"""

from __future__ import annotations

import typer
from rich.table import Table

from duban.cli.common import console, context, reported_errors

app = typer.Typer(no_args_is_help=True, help="Offices and units: the ladder's contacts.")


@app.command("show")
def show(code: str) -> None:
    """An org's mailbox and the ladder's contacts for it."""
    from sqlmodel import Session

    from duban.services.orgs import org_by_code

    ctx = context()
    with reported_errors(), Session(ctx.engine) as session:
        org = org_by_code(session, code)
        table = Table(title=f"{org.name} ({org.code})")
        table.add_column("联系人")
        table.add_column("地址")
        table.add_row("单位邮箱 (催办、通报)", org.email or "—")
        table.add_row("主要负责同志 (重要工作提示)", org.head_email or "—（不发送）")
        table.add_row("同级政府分管领导 (抄告)", org.leader_email or "—（不发送）")
    console.print(table)


@app.command("contacts")
def contacts(
    code: str,
    head: str = typer.Option(None, help="the top official's address (主要负责同志); '' clears it"),
    leader: str = typer.Option(None, help="the supervising government leader's address "
                                          "(同级政府分管领导); '' clears it"),
) -> None:
    """Set the contacts 重要工作提示 and 抄告 go to for the org CODE."""
    from duban.services.orgs import set_contacts

    with reported_errors():
        org = set_contacts(context().engine, code, head_email=head, leader_email=leader)
    console.print(f"{org.code}: 主要负责同志 {org.head_email or '—'}; "
                  f"同级政府分管领导 {org.leader_email or '—'}")
