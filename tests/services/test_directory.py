"""The org directory: one per database while a context holds it, and nothing holds it after."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from duban.db import create_all, make_engine
from duban.services.directory import directory_for
from tests.factories import world


def test_a_directory_is_shared_while_a_context_holds_it_and_let_go_after(tmp_path: Path) -> None:
    # A database of its own: the suite's PostgreSQL database is shared, and other tests' contexts
    # on it may well be alive. The registry is the same whatever the database.
    engine = make_engine(f"sqlite:///{tmp_path / 'orgs.db'}")
    create_all(engine)
    try:
        ctx = world(engine)
        assert directory_for(engine) is ctx.orgs  # every scope check reads the context's orgs
        held = weakref.ref(ctx.orgs)
        del ctx
        gc.collect()
        # A registry that kept it would keep its engine and that engine's statement cache: a
        # process that opens many databases (a test suite: one each) would grow until a full
        # collection stopped it for seconds.
        assert held() is None
    finally:
        engine.dispose()
