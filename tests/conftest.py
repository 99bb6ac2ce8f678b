"""Fixtures shared by the whole suite: a fresh database per test on every configured backend.

`DUBAN_TEST_BACKENDS` (comma list, default `sqlite`) says which backends each database test runs
on; `scripts/test` sets `sqlite,postgresql` and starts a server for `DUBAN_TEST_PG_URL`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

from duban.config.settings import get_settings
from duban.db import create_all, get_engine, make_engine
from tests.factories import truncate
from tests.faults import figures as fault_figures

BACKENDS = [name.strip() for name in os.environ.get("DUBAN_TEST_BACKENDS", "sqlite").split(",")]
BACKENDS = [name for name in BACKENDS if name]

# CI runs the same examples every time (a red CI lands nothing): random search is for people,
# who see a new counterexample and keep it as an example test.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


_DATA_DIR = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # Tests never touch a person's real data: settings read from these, and code that falls
    # back to get_settings() would otherwise open ~/.local/share/duban or their own server.
    config.stash[_DATA_DIR] = os.environ["DUBAN_DATA_DIR"] = tempfile.mkdtemp(prefix="duban-test-data-")
    os.environ.pop("DUBAN_DATABASE_URL", None)
    os.environ.pop("DUBAN_CONFIG_DIR", None)
    # The CLI's Rich consoles (duban/cli/common.py) fix their width when first imported, from
    # COLUMNS or else the terminal: which test imports them first must not decide whether every
    # later test's tables and messages wrap (under pytest-xdist no worker has a terminal).
    os.environ["COLUMNS"] = "200"


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(config.stash.get(_DATA_DIR, ""), ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A pytest-xdist worker hands the fault tests' figures to the controller, which prints them.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["fault_figures"] = fault_figures.export()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    fault_figures.merge(getattr(node, "workeroutput", {}).get("fault_figures"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = fault_figures.summary_lines()
    if lines:
        terminalreporter.section("faults: figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test hashes passwords with tests/appworld.py's cheap argon2id parameters: the tests
    check behaviour, not the hash's cost (the library's default costs ~0.2 s of CPU a hash)."""
    from duban.services import users
    from tests.appworld import _FAST

    monkeypatch.setattr(users, "_hasher", lambda: _FAST)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the database backend this test runs on (`sqlite` or `postgresql`)."""
    return str(request.param)


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database with every table, new for each test."""
    if backend == "sqlite":
        # A file, not :memory:, so WAL and several connections behave as in production.
        path = tmp_path / "duban.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_schema")(), path)
        sqlite_engine = make_engine(f"sqlite:///{path}")
        yield sqlite_engine
        sqlite_engine.dispose()
    elif backend == "postgresql":
        pg: _PostgresDatabase = request.getfixturevalue("_pg_database")
        pg.empty()
        yield pg.engine
    else:
        pytest.fail(f"DUBAN_TEST_BACKENDS names an unknown backend {backend!r}", pytrace=False)


@pytest.fixture(scope="session")
def _sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Path]:
    """An empty SQLite database with every table, made once per set of tables and copied for
    each test: creating the schema cost 0.15-0.2 s a test, a copy a hundredth of that."""
    made: dict[frozenset[str], Path] = {}

    def schema() -> Path:
        # Tables a test module defined after the session began need a schema of their own.
        tables = frozenset(SQLModel.metadata.tables)
        if tables not in made:
            path = tmp_path_factory.mktemp("schema") / "empty.db"
            blank = make_engine(f"sqlite:///{path}")
            create_all(blank)
            blank.dispose()  # the last connection's close folds the WAL into the file
            assert not path.with_name("empty.db-wal").exists(), "a template must be one file"
            made[tables] = path
        return made[tables]

    return schema


class _PostgresDatabase:
    """One schema per session; each test empties every table (far faster than re-creating)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._created: set[str] = set()

    def reset_schema(self) -> None:
        # Dropping the schema, not metadata.drop_all: it also removes tables and types an older
        # version of the models left behind, whose foreign keys would block drop_all.
        with self.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        create_all(self.engine)
        self._created = set(SQLModel.metadata.tables)

    def empty(self) -> None:
        # Tables a test module defined after the session began still need creating.
        if set(SQLModel.metadata.tables) - self._created:
            SQLModel.metadata.create_all(self.engine)
            self._created = set(SQLModel.metadata.tables)
        truncate(self.engine, SQLModel.metadata.sorted_tables)


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[_PostgresDatabase]:
    # Listed but unreachable fails loudly: a skip here would let CI pass without PostgreSQL.
    url = os.environ.get("DUBAN_TEST_PG_URL")
    if not url:
        pytest.fail(
            "DUBAN_TEST_BACKENDS lists postgresql but DUBAN_TEST_PG_URL is not set; "
            "run scripts/test (it starts one), or DUBAN_TEST_BACKENDS=sqlite",
            pytrace=False,
        )
    url = _database_for_this_worker(url)
    pg_engine = make_engine(url)
    try:
        with pg_engine.connect():
            pass
    except OperationalError as exc:
        message = f"cannot reach PostgreSQL at {url} (scripts/pg starts one): {exc.orig}"
        raise pytest.fail.Exception(message, pytrace=False) from None
    database = _PostgresDatabase(pg_engine)
    database.reset_schema()
    yield database
    pg_engine.dispose()


def _database_for_this_worker(url: str) -> str:
    """With pytest-xdist each worker gets its own database (`duban_test_gw0`...), created on demand."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], tuple[Engine, str]]]:
    """`built_demo(backend)`: the demo (seed 2023) built once per backend for the whole session,
    and the summary its build returned.

    A build runs the engine day by day over 1,481 cases, the slowest fixture of the suite; the
    tests that check its figures only read it, so they share one build in a database of its own
    (the per-test `engine` would empty it).
    """
    from duban.demo.build import build_demo
    from duban.services import ServiceContext

    built: dict[str, tuple[Engine, str]] = {}
    dropped: list[Callable[[], None]] = []

    def demo(backend: str) -> tuple[Engine, str]:
        if backend not in built:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'duban.db'}"
            elif backend == "postgresql":
                base = _database_for_this_worker(_pg_url())
                url, drop = _fresh_database(base, f"{make_url(base).database}_demo")
                dropped.append(drop)
            else:
                pytest.fail(f"DUBAN_TEST_BACKENDS names an unknown backend {backend!r}", pytrace=False)
            demo_engine = make_engine(url)
            built[backend] = demo_engine, build_demo(ServiceContext(engine=demo_engine), seed=2023)
        return built[backend]

    yield demo
    for demo_engine, _ in built.values():
        demo_engine.dispose()
    for drop in dropped:
        drop()


def _pg_url() -> str:
    url = os.environ.get("DUBAN_TEST_PG_URL")
    if not url:
        pytest.fail("DUBAN_TEST_BACKENDS lists postgresql but DUBAN_TEST_PG_URL is not set; "
                    "run scripts/test (it starts one), or DUBAN_TEST_BACKENDS=sqlite", pytrace=False)
    return url


def _fresh_database(url: str, name: str) -> tuple[str, Callable[[], None]]:
    """An empty database `name` on the server of `url` (dropped first if a run left it), and its drop."""
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Point the process's settings at test values (DUBAN_* variables), caches cleared both ways.

    `get_settings()` and `get_engine()` are cached: without clearing them a command would keep
    the previous test's database.
    """

    def use(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        get_engine.cache_clear()

    yield use
    get_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def data_dir(tmp_path: Path, settings_env: Callable[..., None]) -> Path:
    """A data folder of its own, where commands put the embedded SQLite database."""
    settings_env(DUBAN_DATA_DIR=str(tmp_path))
    return tmp_path
