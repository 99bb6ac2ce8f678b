"""An imported batch writes its cases' search index rows at once, after its cases (not by a trigger
per case): the index must come out exactly as a rebuild from the cases makes it, a batch that
fails must leave none of its rows, and the skipped trigger must fire again for every other write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from duban.db import SEARCH_DEFERRED
from duban.importer import import_file
from duban.models import CaseCreate, search
from duban.services import CaseService, ServiceContext
from duban.services.bulkregister import register_many
from tests.factories import CLERK, complaint, registered, reported, world
from tests.importer.ledger import refusing, row, xlsx
from tests.importer.test_batches import commits


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-10 09:00")


def index_of(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every index row; on SQLite also every (gram, row, column) the grams' index holds, that is
    what each one- or two-character query finds."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(text("SELECT case_id, kind, source_id, open_text, raw_text FROM case_search "
                                     "ORDER BY 1, 2, 3")).all()
            return [tuple(r) for r in rows], []
        rows = conn.execute(text("SELECT rowid, open_text, raw_text FROM case_search ORDER BY rowid")).all()
        conn.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.grams_vocab "
                          "USING fts5vocab(main, case_search_grams, instance)"))
        grams = conn.execute(text("SELECT term, doc, col FROM temp.grams_vocab ORDER BY 1, 2, 3")).all()
        conn.execute(text("DROP TABLE temp.grams_vocab"))
        return [tuple(r) for r in rows], [tuple(g) for g in grams]


def stored_order(engine: Engine) -> list[tuple[Any, ...]]:
    """PostgreSQL: the index rows' keys in the order they lie in the table."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT case_id, kind, source_id FROM case_search "
                                                    "ORDER BY ctid"))]


def rebuilt(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with engine.begin() as conn:
        search.rebuild(conn)
    return index_of(engine)


def cases_indexed(engine: Engine) -> int:
    column = "rowid >> 32" if engine.dialect.name == "sqlite" else "case_id"
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(DISTINCT {column}) FROM case_search")).scalar_one()


TITLE = "七里河区某小区停水三天无人处理"


def ledger() -> list[dict[str, Any]]:
    """Bad rows, repeats within a batch and across batches, one complainant in two rows."""
    return [row(1, 标题=TITLE, 反映内容="司马青山也知情，电话13912345678。"),
            row(2, 反映人="司马青山", 联系电话="13912345678"),
            row(3, 渠道="飞鸽传书"),
            row(4, 标题=TITLE, 反映人="欧阳明轩"),  # repeats row 1 in the same batch
            row(5, 标题="城关区某学校食堂卫生差", 反映人="司马青山", 联系电话="13912345678"),
            row(6, 标题=""),
            row(7, 标题=f"{TITLE}！", 反映人="Zhang San"),  # repeats row 1 two batches on
            row(8, 标题="ABC公司拖欠农民工工资", 反映内容="abc"),
            row(9)]


def test_an_imported_ledger_is_indexed_exactly_as_a_rebuild_indexes_it(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("duban.importer.run.BATCH", 3)
    with commits(ctx.engine) as committed:
        result = import_file(ctx, xlsx(tmp_path / "ledger.xlsx", ledger()), actor=CLERK)
    assert (result.created, result.linked, result.rejected) == (5, 2, 2)
    assert len(committed) == 3  # a batch a transaction: none of them was refused and redone
    imported = index_of(ctx.engine)
    assert cases_indexed(ctx.engine) == 5
    assert imported == rebuilt(ctx.engine)
    if ctx.engine.dialect.name == "sqlite":
        assert imported[1]  # the grams' index was compared, not two empty lists


def test_a_batch_the_database_refused_and_redid_row_by_row_is_indexed_as_a_rebuild_indexes_it(
        ctx: ServiceContext, tmp_path: Path) -> None:
    with refusing(ctx.engine, "司马青山"):
        result = import_file(ctx, xlsx(tmp_path / "ledger.xlsx", ledger()), actor=CLERK)
    assert (result.created, result.linked, result.rejected) == (3, 2, 4)  # 司马青山 twice
    assert cases_indexed(ctx.engine) == 3
    assert index_of(ctx.engine) == rebuilt(ctx.engine)


def test_a_rebuild_lays_postgresql_s_rows_in_their_key_s_order_whatever_order_the_cases_lie_in(
        ctx: ServiceContext) -> None:
    """A case's rows side by side, the cases in their ids' order (a common word's matches then
    ask their cases in that order): not in the order a join happens to meet them."""
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's rows lie in their rowids' order, which is their key")
    for i in range(6):
        (reported if i < 4 else registered)(ctx, title=f"第{i}个小区供水中断")
    with ctx.engine.begin() as conn:
        # every other case written again: its row now lies after the others' in the table
        conn.execute(text("UPDATE cases SET title = title WHERE id % 2 = 0"))
        lying = conn.execute(text("SELECT id FROM cases ORDER BY ctid")).scalars().all()
        assert lying != sorted(lying)
        search.rebuild(conn)
    stored = stored_order(ctx.engine)
    assert stored == sorted(stored)
    assert len({case for case, kind, _ in stored if kind > 0}) == 4  # the reports' rows among them


class Crash(Exception):
    pass


def deferred_now(conn: Connection) -> bool:
    if conn.dialect.name == "sqlite":
        return bool(conn.execute(text(f"SELECT {SEARCH_DEFERRED}()")).scalar_one())
    return conn.execute(text("SELECT current_setting('duban.search_deferred', true)")).scalar() == "on"


def test_a_failed_batch_leaves_no_index_rows_and_the_next_case_is_indexed(ctx: ServiceContext) -> None:
    def crash(*_: Any) -> None:
        raise Crash

    complaints = [CaseCreate.model_validate(complaint(title=f"某村饮水困难第{n}号")) for n in range(3)]
    with pytest.raises(Crash):
        register_many(CaseService(ctx), complaints, actor=CLERK, record=crash)
    assert cases_indexed(ctx.engine) == 0
    CaseService(ctx).register(complaint(title="某村饮水困难"), actor=CLERK)
    assert cases_indexed(ctx.engine) == 1  # the trigger fires again, whichever connection it was
    assert index_of(ctx.engine) == rebuilt(ctx.engine)


def test_the_skip_ends_with_its_block_however_the_block_is_left(engine: Engine) -> None:
    with engine.connect() as conn:
        with conn.begin():
            with search.new_cases_indexed(conn, []):
                assert deferred_now(conn)
            assert not deferred_now(conn)  # later writes of the same transaction are indexed
        with pytest.raises(Crash), conn.begin(), search.new_cases_indexed(conn, []):
            raise Crash
        with conn.begin():
            assert not deferred_now(conn)


def test_a_connection_returned_to_the_pool_with_the_skip_up_comes_back_without_it(tmp_path: Path) -> None:
    from duban.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        conn.connection.info[SEARCH_DEFERRED] = True  # as if a writer had left it up
        assert deferred_now(conn)
        first = conn.connection.dbapi_connection
    with engine.connect() as conn:
        assert conn.connection.dbapi_connection is first and not deferred_now(conn)
    engine.dispose()


def test_a_writer_on_another_connection_meanwhile_indexes_its_case(ctx: ServiceContext) -> None:
    with ctx.engine.connect() as batch, batch.begin(), search.new_cases_indexed(batch, []):
        assert deferred_now(batch)
        CaseService(ctx).register(complaint(title="某村饮水困难"), actor=CLERK)
    assert cases_indexed(ctx.engine) == 1
    assert index_of(ctx.engine) == rebuilt(ctx.engine)
