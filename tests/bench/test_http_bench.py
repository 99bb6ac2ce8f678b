"""The HTTP benchmark sets its database up as `duban demo` does: a fresh data folder is migrated
before the demo is built in it (a context refuses a database not at the migrations' head)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.http_bench import prepare
from duban.demo import build
from duban.demo.orgs import load_orgs
from duban.services.context import ServiceContext
from duban.services.orgs import install_orgs


def test_a_fresh_data_folder_is_migrated_and_built_before_its_accounts_are_made(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[ServiceContext] = []

    def orgs_only(ctx: ServiceContext, **_: Any) -> str:  # the demo's cases take a minute: its orgs
        install_orgs(ctx.engine, load_orgs())
        built.append(ctx)
        return "orgs only"

    monkeypatch.setattr(build, "build_demo", orgs_only)
    monkeypatch.setenv("DUBAN_DATA_DIR", str(data_dir))  # prepare sets it too: restored after
    accounts = prepare(data_dir)
    assert len(built) == 1  # an empty database: built
    assert accounts and all(accounts.values())  # the bench users, with their passwords
