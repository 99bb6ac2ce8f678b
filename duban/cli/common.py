"""What every command shares: the service context, the acting user, and how errors are shown."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from duban.errors import DubanError
from duban.services.context import Actor, ServiceContext

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

AS_HELP = "act as ROLE or ROLE:ORG_CODE (clerk, dispatcher, unit, supervisor, leader, admin)"


def context() -> ServiceContext:
    return ServiceContext.from_settings()


def actor_from(ctx: ServiceContext, spec: str, user: str | None = None) -> Actor:
    from sqlmodel import Session

    from duban.services.orgs import org_by_code

    role, _, code = spec.partition(":")
    org_id = None
    if code:
        with Session(ctx.engine) as session:
            org_id = org_by_code(session, code).id
    return Actor(name=user or getpass.getuser(), role=role, org_id=org_id)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Show a DubanError as one readable line and exit 1, instead of a traceback."""
    try:
        yield
    except DubanError as exc:
        err_console.print(f"[red]错误 error:[/red] {exc}")
        raise typer.Exit(1) from exc
