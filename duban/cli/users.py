"""`duban user`: add users, list them, set a password, disable and enable them.

A new password and disabling end every page session and API token of the user at once, in every
`duban serve` worker on this host (services/sessions.py).
"""

from __future__ import annotations

import typer
from rich.table import Table

from duban.cli.common import console, context, reported_errors

app = typer.Typer(no_args_is_help=True, help="People who sign in to the pages and the API.")

ROLE_HELP = "clerk, dispatcher, unit, supervisor, leader or admin"


@app.command("add")
def add(
    username: str,
    role: str = typer.Option(..., help=ROLE_HELP),
    org: str = typer.Option(..., help="org code: the office (or, for role unit, the unit) they work in"),
    name: str = typer.Option("", help="display name"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Add a user who signs in with USERNAME and a password (10+ characters, not a common one)."""
    from duban.services.users import create_user

    ctx = context()
    with reported_errors():
        user = create_user(ctx, username=username, password=password, role=role, org_code=org,
                           display_name=name)
    console.print(f"added {user.username} ({ctx.labels.of('roles', user.role)})")


@app.command("passwd")
def passwd(
    username: str,
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Set a user's password; every session and token of theirs ends at once."""
    from duban.services.users import set_password

    with reported_errors():
        set_password(context(), username, password)
    console.print(f"password of {username} changed; their sessions and tokens have ended")


@app.command("disable")
def disable(username: str) -> None:
    """Switch a user off: every session and token ends at once, and signing in is refused."""
    from duban.services.users import set_active

    with reported_errors():
        changed = set_active(context(), username, False)
    console.print(f"{username} disabled; their sessions and tokens have ended" if changed
                  else f"{username} was disabled already")


@app.command("enable")
def enable(username: str) -> None:
    """Let a disabled user sign in again (with the password they had)."""
    from duban.services.users import set_active

    with reported_errors():
        changed = set_active(context(), username, True)
    console.print(f"{username} enabled" if changed else f"{username} was enabled already")


@app.command("list")
def list_() -> None:
    """List users with role and org."""
    from duban.services.users import users_with_orgs

    ctx = context()
    table = Table("user", "name", "role", "org", "active")
    for user, org_code in users_with_orgs(ctx):
        table.add_row(user.username, user.display_name, ctx.labels.of("roles", user.role),
                      org_code or "?", "yes" if user.active else "no")
    console.print(table)
