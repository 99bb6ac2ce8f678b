"""`duban user`: add users, list them, set a password, disable and enable them, end their
sessions, show an account's history.

A new password and disabling end every page session and API token of the user at once, in every
`duban serve` worker on this host (services/sessions.py). Each change is an event of the account
record under the operator's login name (services/accountaudit.py; `duban audit verify` checks it).
"""

from __future__ import annotations

import getpass

import typer

from duban.cli.common import console, context, reported_errors, said
from duban.cli.common import table as columns

app = typer.Typer(no_args_is_help=True, help="People who sign in to the pages and the API.")

ROLE_HELP = "clerk, dispatcher, unit, supervisor, leader or admin"


def asked_password() -> str:
    """The password typed twice, hidden, asked in Chinese (Typer's own prompt says "Password:")."""
    return str(typer.prompt(said("password_prompt"), hide_input=True,
                            confirmation_prompt=said("password_again")))


@app.command("add")
def add(
    username: str,
    role: str = typer.Option(..., help=ROLE_HELP),
    org: str = typer.Option(..., help="org code: the office (or, for role unit, the unit) they work in"),
    name: str = typer.Option("", help="display name"),
    password: str | None = typer.Option(None, help="asked for, twice, when not given"),
) -> None:
    """Add a user who signs in with USERNAME and a password (10+ characters, not a common one)."""
    from duban.services.users import create_user

    password = password if password is not None else asked_password()
    ctx = context()
    with reported_errors():
        user = create_user(ctx, username=username, password=password, role=role, org_code=org,
                           display_name=name, by=getpass.getuser())
    console.print(said("user_added", username=user.username, role=ctx.labels.of("roles", user.role)))


@app.command("passwd")
def passwd(
    username: str,
    password: str | None = typer.Option(None, help="asked for, twice, when not given"),
) -> None:
    """Set a user's password; every session and token of theirs ends at once."""
    from duban.services.users import set_password

    password = password if password is not None else asked_password()
    with reported_errors():
        set_password(context(), username, password, by=getpass.getuser())
    console.print(said("password_set", username=username))


@app.command("disable")
def disable(username: str) -> None:
    """Switch a user off: every session and token ends at once, and signing in is refused."""
    from duban.services.users import set_active

    with reported_errors():
        changed = set_active(context(), username, False, by=getpass.getuser())
    console.print(said("user_disabled" if changed else "user_disabled_already", username=username))


@app.command("enable")
def enable(username: str) -> None:
    """Let a disabled user sign in again (with the password they had)."""
    from duban.services.users import set_active

    with reported_errors():
        changed = set_active(context(), username, True, by=getpass.getuser())
    console.print(said("user_enabled" if changed else "user_enabled_already", username=username))


@app.command("list")
def list_() -> None:
    """List users with role and org."""
    from duban.services.users import users_with_orgs

    ctx = context()
    table = columns("users")
    for user, org_code in users_with_orgs(ctx):
        table.add_row(user.username, user.display_name, ctx.labels.of("roles", user.role),
                      org_code or "?", ctx.labels.cli.get("active" if user.active else "inactive", ""))
    console.print(table)


@app.command("sign-out")
def sign_out(username: str) -> None:
    """End every page session and API token of a user (they may sign in again)."""
    from duban.services.users import sign_out_user

    with reported_errors():
        sign_out_user(context(), username, by=getpass.getuser())
    console.print(said("user_signed_out", username=username))


@app.command("history")
def history(username: str) -> None:
    """Every recorded change to an account: when, by whom, what (the account record)."""
    from duban.clock import SHANGHAI
    from duban.present.accounts import change_text
    from duban.services.accountaudit import history as events
    from duban.services.users import user_named

    ctx = context()
    with reported_errors():
        user_named(ctx, username)
        rows = events(ctx, username)
    table = columns("account_history")
    for row in rows:
        table.add_row(str(row["seq"]), row["at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                      f"{row['actor']} ({ctx.labels.of('roles', row['actor_role'])})",
                      change_text(ctx.labels, row))
    console.print(table)
