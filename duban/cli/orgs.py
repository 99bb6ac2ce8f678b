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
    from duban.services.orgs import CONTACTS, find_org

    ctx = context()
    with reported_errors():
        org = find_org(ctx.engine, code)
        text = ctx.labels.text
        table = Table(text["contact_column"], text["address_column"], title=f"{org.name} ({org.code})")
        table.add_row(text["contact_email"], org.email or "—")
        for name in CONTACTS:
            table.add_row(text[f"contact_{name}"], getattr(org, name) or text["contact_missing"])
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

    ctx = context()
    with reported_errors():
        org = set_contacts(ctx.engine, code, head_email=head, leader_email=leader)
    text = ctx.labels.text
    console.print(f"{org.code}: {text['head_contact']} {org.head_email or '—'}; "
                  f"{text['leader_contact']} {org.leader_email or '—'}")
