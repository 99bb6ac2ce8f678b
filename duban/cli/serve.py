"""`duban serve`: the API, the pages and the scheduler on one port, with demo data on first start."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlmodel import Session, func, select

from duban.cli.common import console, context


def _empty(ctx) -> bool:  # type: ignore[no-untyped-def]
    from duban.models import Case

    with Session(ctx.engine) as session:
        return session.exec(select(func.count()).select_from(Case)).one() == 0


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(8000, min=1, max=65535),
    demo: bool = typer.Option(True, "--demo/--no-demo",
                              help="on an empty database, build the demo cases and demo accounts"),
    seed: int = typer.Option(2023, help="random seed of the demo cases"),
    scheduler: bool = typer.Option(True, "--scheduler/--no-scheduler",
                                   help="run the deadline sweeps here (one process per database should)"),
    real_clock: bool = typer.Option(False, "--real-clock",
                                    help="with demo data, run on today's date instead of the demo's"),
) -> None:
    """Serve the web pages, the JSON API (/docs) and the deadline scheduler."""
    import uvicorn

    from duban.app import create_app
    from duban.config.settings import get_settings
    from duban.demo.accounts import ensure_demo_accounts

    settings = get_settings()
    ctx = context()
    if demo and not real_clock:
        from duban.clock import shanghai
        from duban.demo.clock import demo_clock

        # The demo's cases live in 2023: served on today's clock, every one would be three years
        # overdue and the escalation ladder would fire on all of them at the first sweep.
        ctx.clock = demo_clock(settings.data_dir)
        console.print(f"演示时钟 demo clock: {shanghai(ctx.now()):%Y-%m-%d %H:%M} (Asia/Shanghai), "
                      "running; --real-clock for today's date")
    if demo and _empty(ctx):
        from duban.demo.build import build_demo

        console.print("首次启动：生成演示数据 building the demo cases (about a minute)…")
        console.print(build_demo(ctx, seed=seed, fresh=False, progress=console))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(f"数据库 database: {settings.resolved_database_url}")
    if demo:
        table = Table("用户名 user", "密码 password", "角色 role", "单位 org", title="演示账号 demo accounts")
        for account in ensure_demo_accounts(ctx, settings.data_dir):
            table.add_row(account.username, account.password, ctx.labels.of("roles", account.role),
                          f"{account.org_name} ({account.org_code})")
        console.print(table)
    console.print(f"打开 open {url}/  ·  API {url}/docs  ·  OpenAPI {url}/openapi.json")
    uvicorn.run(create_app(ctx, settings=settings, scheduler=scheduler), host=host, port=port,
                log_level="info", proxy_headers=False)
