"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, bindparam, inspect, make_url, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import duban.models  # noqa: F401
from duban.db import make_engine
from duban.models.case import WORK_ORDER_INDEX
from duban.schema import current_revision, include_object, upgrade
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with nothing in it (PostgreSQL: a database of its own, made for this test)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    url = make_url(os.environ["DUBAN_TEST_PG_URL"])
    # A name of its own per test: what is cached per database URL (the org directory and its
    # engine's pooled connections) never outlives the database DROP ... WITH (FORCE) ended.
    name = f"{url.database}_migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url.render_as_string(hide_password=False)).execution_options(
        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.engine.dispose()


# SQLite's reflection skips the work-order index (on expressions, kept beside the models) with this.
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index ix_cases_work_order")
def test_upgrading_an_empty_database_gives_the_models_schema(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert current_revision(empty_engine) is not None
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object,
                                                         "compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], "the models changed: add a migration (duban.schema.revision)"


def test_migrated_audit_events_are_append_only(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    catalogue = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'",
        "postgresql": "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass "
                      "AND NOT tgisinternal",
    }[empty_engine.dialect.name]
    with empty_engine.connect() as conn:
        triggers = set(conn.execute(text(catalogue)).scalars())
    assert triggers == {"sqlite": {"audit_events_no_update", "audit_events_no_delete",
                                   "audit_events_no_replace"},
                        "postgresql": {"audit_events_append_only"}}[empty_engine.dialect.name]


def test_a_database_made_before_migrations_is_stamped_not_rebuilt(empty_engine: Engine) -> None:
    SQLModel.metadata.create_all(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) is not None
    assert "cases" in inspect(empty_engine).get_table_names()


def _complaint_with_a_named_note(engine: Engine) -> str:
    from duban.services import CaseService
    from tests.factories import CLERK, DISPATCHER, complaint, world

    ctx = world(engine)
    number = CaseService(ctx).register(complaint(summary="李建国来电13609318888", complainant_name="李建国"),
                                       actor=CLERK).case.number
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER,
                         form={"unit": "GS-LZ-CG-GOV", "note": "王女士"})
    return number


def test_migrated_audit_events_let_only_the_redacted_reason_change(empty_engine: Engine) -> None:
    from sqlalchemy.exc import DatabaseError

    upgrade(empty_engine)
    _complaint_with_a_named_note(empty_engine)
    with empty_engine.begin() as conn:
        assert conn.execute(text("UPDATE audit_events SET reason_redacted = 'x'")).rowcount == 2
    for change in ("reason = 'x'", "reason_redacted = 'y', seq = seq + 100", "to_state = 'closed'"):
        with pytest.raises(DatabaseError, match="append-only"), empty_engine.begin() as conn:
            conn.execute(text(f"UPDATE audit_events SET {change}"))
    with pytest.raises(DatabaseError, match="append-only"), empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))


def _as_if_written_at(engine: Engine, revision: str) -> None:
    """The database's rows, as a database at `revision` held them (columns added later dropped)."""
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name in inspect(engine).get_table_names()]
    with engine.connect() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(t.select())] for t in tables}
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE alembic_version"))
    upgrade(engine, revision)
    with engine.begin() as conn:
        there = set(inspect(conn).get_table_names())
        for table in [t for t in tables if t.name in there]:  # tables added later: none yet
            then = Table(table.name, MetaData(), autoload_with=conn)  # as the old schema has it
            if rows[table.name]:
                conn.execute(then.insert(), [{k: v for k, v in r.items() if k in then.c}
                                             for r in rows[table.name]])
                if conn.dialect.name == "postgresql" and "id" in then.c:  # ids given: move the sequence on
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                      f"(SELECT max(id) FROM {table.name}))"))


def test_upgrading_past_the_twins_leaves_no_twin_empty_where_the_text_is_not(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    _complaint_with_a_named_note(empty_engine)
    _as_if_written_at(empty_engine, "0002")
    with empty_engine.connect() as conn:
        assert "summary_redacted" not in {c["name"] for c in inspect(conn).get_columns("cases")}
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        summary, = conn.execute(text("SELECT summary_redacted FROM cases")).one()
        reasons = conn.execute(text("SELECT reason, reason_redacted FROM audit_events")).all()
    assert summary == "（保密）来电（保密）"
    assert [tuple(r) for r in reasons if r[0]] == [("王女士", "（保密）")]


def _twin_after_upgrade_from(engine: Engine, revision: str, said: str) -> str:
    """The summary twin of a case registered saying `said`, written as the rules before the
    revision after `revision` wrote it (the raw text: the worst they could have done), after
    upgrading again."""
    from alembic import command

    from duban.migrations import alembic_config
    from duban.services import CaseService
    from tests.factories import CLERK, complaint, world

    upgrade(engine)
    number = CaseService(world(engine)).register(
        complaint(title="饮水困难", summary=said), actor=CLERK).case.number
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET summary_redacted = summary"))
    upgrade(engine)
    with engine.connect() as conn:
        twin: str = conn.execute(text("SELECT summary_redacted FROM cases WHERE number = :n"),
                                 {"n": number}).scalar_one()
    return twin


def test_upgrading_past_0036_masks_a_number_the_old_twins_showed_beside_a_numeral_word(
        empty_engine: Engine) -> None:
    twin = _twin_after_upgrade_from(empty_engine, "0035", "反映人说一一三六〇九三一八八八八一直无人接听")
    assert twin == "反映人说一（保密）一直无人接听"


def test_upgrading_past_0037_masks_what_the_old_twins_showed(empty_engine: Engine) -> None:
    twin = _twin_after_upgrade_from(empty_engine, "0036", "我叫张伟，手机8613609318888，住5栋2单元301室")
    assert twin == "我叫（保密），手机（保密），住5栋（保密）"


def test_upgrading_past_0039_masks_a_writer_the_old_twins_showed(empty_engine: Engine) -> None:
    twin = _twin_after_upgrade_from(empty_engine, "0038", "本人马保国，男，汉族，现年58岁，反映")
    assert twin == "本人（保密），男，汉族，现年58岁，反映"


def test_upgrading_past_0040_masks_a_caller_the_old_twins_showed(empty_engine: Engine) -> None:
    twin = _twin_after_upgrade_from(empty_engine, "0039", "市民赵丽颖来电反映，联系人：李四 13912345678")
    assert twin == "市民（保密）来电反映，联系人：（保密） （保密）"


def test_upgrading_past_0045_masks_a_name_in_fang_and_an_own_plate_the_old_twins_showed(
        empty_engine: Engine) -> None:
    twin = _twin_after_upgrade_from(empty_engine, "0044", "您好，我是李方，我的车甘A·12345被拖走了")
    assert twin == "您好，我是（保密），我的车（保密）被拖走了"


def test_upgrading_past_0041_stores_a_phone_as_its_digits_and_the_index_finds_them(
        empty_engine: Engine) -> None:
    from alembic import command

    from duban.migrations import alembic_config
    from duban.services import CaseService
    from duban.services.queries import scope_for
    from duban.services.reading import case_page
    from duban.services.search import CaseQuery, narrow
    from tests.factories import CLERK, DISPATCHER, complaint, world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    number = CaseService(ctx).register(complaint(title="饮水困难", complainant_phone="13912345678"),
                                       actor=CLERK).case.number
    abroad = CaseService(ctx).register(complaint(title="噪音", complainant_phone="+852 9123 4567",
                                                 complainant_name="另一人"), actor=CLERK).case.number
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0040")
        # as typed before 0041 (the search index's triggers write the typed form to the raw row)
        conn.execute(text("UPDATE complainants SET phone = '139-1234-5678' WHERE phone = '13912345678'"))
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        phones = dict(conn.execute(text(
            "SELECT c.number, p.phone FROM cases c JOIN complainants p ON p.id = c.complainant_id")).all())
    assert phones == {number: "13912345678", abroad: "+852 9123 4567"}
    with Session(empty_engine) as session:
        flt = narrow(scope_for(session, DISPATCHER), CaseQuery.parse({"text": "13912345678"}), ctx.orgs)
    assert [r.number for r in case_page(ctx, flt, actor=DISPATCHER).rows] == [number]


def test_the_models_append_only_statements_are_the_migration_s() -> None:
    import importlib
    import pkgutil

    import duban.migrations.versions as versions
    from duban.models import AuditEvent
    from duban.models.audit import APPEND_ONLY_DDL, FROZEN_COLUMNS

    modules = [importlib.import_module(f"{versions.__name__}.{m.name}")
               for m in pkgutil.iter_modules(versions.__path__)]
    twin_update, = [m for m in modules if hasattr(m, "SQLITE_UPDATE_TRIGGER")]
    keyed, = [m for m in modules if hasattr(m, "SQLITE_UPDATE_TRIGGER_0004")]
    # 0004 froze the columns of its day; 0005 (the keyed chain) makes the trigger anew from the
    # models' statements, and puts 0004's back on downgrade.
    assert keyed.SQLITE_UPDATE_TRIGGER_0004 == twin_update.SQLITE_UPDATE_TRIGGER
    assert keyed.APPEND_ONLY_DDL is APPEND_ONLY_DDL
    assert APPEND_ONLY_DDL["postgresql"][0] == twin_update.PG_FUNCTION
    # Every column but the twin is frozen: a column added later must be added here too.
    assert set(FROZEN_COLUMNS) == set(AuditEvent.__table__.columns.keys()) - {"reason_redacted"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("made_by", ["nothing", "create_all"])
def test_processes_that_start_together_each_upgrade_without_a_locked_database(
        empty_engine: Engine, made_by: str) -> None:
    """Every process upgrades when it starts (web workers, sweep, deliver, an import): started at
    once on a new database, or on one create_all made, they take turns, and all succeed."""
    import subprocess
    import sys

    if made_by == "create_all":
        from duban.db import create_all

        create_all(empty_engine)
    url = empty_engine.url.render_as_string(hide_password=False)
    code = ("import sys; from duban.db import make_engine; from duban.schema import upgrade; "
            "upgrade(make_engine(sys.argv[1]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) for _ in range(4)]
    outputs = [(p.wait(timeout=120), p.stdout.read().decode(errors="replace")[-800:] if p.stdout else "")
               for p in procs]
    assert [rc for rc, _ in outputs] == [0, 0, 0, 0], outputs
    assert current_revision(empty_engine) is not None


def test_upgrading_past_0009_gives_escalated_cases_the_office_they_were_escalated_to(
        empty_engine: Engine) -> None:
    from duban.services import Actor, CaseService
    from tests.factories import CLERK, complaint, org_id, world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    service = CaseService(ctx)

    def office(code: str, role: str = "dispatcher") -> Actor:
        return Actor(code, role, org_id(ctx, code))

    def new(office_code: str, title: str) -> str:
        return service.register(complaint(office_code=office_code, title=title, subject_name="某物业公司",
                                          subject_kind="enterprise", subject_org_code=None),
                                actor=CLERK).case.number

    taken, handed_on = new("GS-LZ-CG", "小区停水"), new("GS-LZ-CG", "小区停电")
    province, plain = new("GS", "小区停气"), new("GS-LZ-CG", "小区停暖")
    service.act(taken, "escalate", actor=office("GS-LZ-CG"))
    service.act(handed_on, "escalate", actor=office("GS-LZ-CG"))
    service.act(handed_on, "reassign", actor=office("GS-LZ"), form={"unit": "GS-LZ-ZJJ", "reason": "改派"})
    service.act(province, "transfer", actor=office("GS"), form={"unit": "GS-LZ-CG-SWJ"})
    service.act(province, "escalate", actor=office("GS"))  # to the city, which is not above the province
    service.act(plain, "transfer", actor=office("GS-LZ-CG"), form={"unit": "GS-LZ-CG-SWJ"})
    query = text("SELECT number, record_office_id FROM cases")
    with empty_engine.connect() as conn:
        now = dict(conn.execute(query).all())
    _as_if_written_at(empty_engine, "0007")
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        backfilled = dict(conn.execute(query).all())
    city = org_id(ctx, "GS-LZ")
    assert backfilled == now == {taken: city, handed_on: city, province: None, plain: None}


def test_a_case_referred_before_0008_is_scoped_as_a_referral_and_closed_by_its_commission(
        empty_engine: Engine) -> None:
    from duban.errors import CaseNotFound
    from duban.services import CaseService
    from duban.services.context import Actor
    from duban.services.reading import case_detail
    from tests.factories import CLERK, DISPATCHER, SUPERVISOR, complaint, org_id, world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    service = CaseService(ctx)
    number = service.register(complaint(title="反映某干部吃拿卡要"), actor=CLERK).case.number
    service.act(number, "refer", actor=DISPATCHER)
    _as_if_written_at(empty_engine, "0007")  # a referral as 0007 kept it: the commission as unit
    with empty_engine.connect() as conn:
        assert "referrals" not in inspect(conn).get_table_names()
    upgrade(empty_engine)
    commission_id = CaseService(ctx).get(number).unit_id
    assert commission_id is not None
    with pytest.raises(CaseNotFound):  # scoped as a referral from now on
        case_detail(ctx, number, actor=CLERK)
    assert case_detail(ctx, number, actor=SUPERVISOR)["case"]["state"] == "referred"
    commission = Actor("纪委监委用户", "unit", commission_id)
    assert "record_result" in case_detail(ctx, number, actor=commission)["allowed_actions"]
    closed = CaseService(ctx).act(number, "record_result", actor=commission,
                                  form={"outcome": "talk_inquiry", "text": "谈话提醒"})
    assert closed.state == "closed"
    assert commission_id in (org_id(ctx, "GS-JW"), org_id(ctx, "GS-LZ-JW"))


def test_a_callback_recorded_before_0015_reads_on_the_scale(empty_engine: Engine) -> None:
    from duban.services import CaseService
    from duban.services.reading import case_detail
    from tests.factories import CLERK, DISPATCHER, REPORTED, SUPERVISOR, complaint, unit_actor, world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    service = CaseService(ctx)
    numbers = []
    for flag in (True, False):
        number = service.register(complaint(title=f"回访{flag}"), actor=CLERK).case.number
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        service.act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                    form={**REPORTED, "text": "已办"})
        service.act(number, "approve", actor=SUPERVISOR)
        service.act(number, "record_callback", actor=CLERK,
                    form={"method": "phone", "result": "unsatisfied", "reason": "未解决"})
        numbers.append(number)
    with empty_engine.begin() as conn:  # the flag 0011 kept, one row each way
        conn.execute(text("UPDATE callbacks SET satisfied = (case_id = 1)"))
    _as_if_written_at(empty_engine, "0011")
    with empty_engine.connect() as conn:
        assert "result" not in {c["name"] for c in inspect(conn).get_columns("callbacks")}
    upgrade(empty_engine)
    read = [[(c["result"], c["method"]) for c in case_detail(ctx, n, actor=SUPERVISOR)["callbacks"]]
            for n in numbers]
    assert read == [[("satisfied", None)], [("unsatisfied", None)]]


def test_objections_from_before_0012_read_as_returns_the_office_accepted(empty_engine: Engine) -> None:
    """A 退单 took effect on the unit's word before 0012: such a row becomes an accepted request,
    decided by nobody, and a report of then has no structured part."""
    upgrade(empty_engine)
    _complaint_with_a_named_note(empty_engine)
    with empty_engine.begin() as conn:
        case_id, unit_id = conn.execute(text("SELECT id, unit_id FROM cases")).one()
        conn.execute(text(
            "INSERT INTO objections (case_id, unit_id, reason, reason_redacted, objected_at, status, "
            "decision_note, decision_note_redacted) VALUES (:c, :u, '不属本单位职责', '不属本单位职责', "
            "CURRENT_TIMESTAMP, 'requested', '', '')"), {"c": case_id, "u": unit_id})
        conn.execute(text(
            "INSERT INTO handling_reports (case_id, unit_id, kind, text, text_redacted, submitted_by, "
            "submitted_at, actions_taken, actions_taken_redacted, rectification, rectification_redacted, "
            "accountability, accountability_redacted) VALUES (:c, :u, 'final', '已办结', '已办结', '甲', "
            "CURRENT_TIMESTAMP, '', '', '', '', '', '')"), {"c": case_id, "u": unit_id})
    _as_if_written_at(empty_engine, "0011")
    with empty_engine.connect() as conn:
        assert "status" not in {c["name"] for c in inspect(conn).get_columns("objections")}
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT status, decided_by, decided_at, decision_note FROM objections")
                            ).one() == ("accepted", None, None, "")
        assert conn.execute(text("SELECT finding, actions_taken, rectification, accountability "
                                 "FROM handling_reports")).one() == (None, "", "", "")
        assert conn.execute(text("SELECT signed_at, signed_by, sign_due_on FROM cases")).one() == (
            None, None, None)


def test_users_from_before_0024_enter_the_account_record_and_verify(empty_engine: Engine) -> None:
    from duban.services.accountaudit import history
    from duban.services.integrity import verify
    from duban.services.users import create_user, update_user
    from tests.factories import world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    create_user(ctx, username="wang", password="correct horse 甘肃", role="clerk", org_code="GS")
    _as_if_written_at(empty_engine, "0019")  # wang, without the record
    with empty_engine.connect() as conn:
        assert "account_events" not in inspect(conn).get_table_names()
    upgrade(empty_engine)
    assert [e["action"] for e in history(ctx, "wang")] == ["account_recorded"]
    assert verify(ctx).findings == []
    update_user(ctx, "wang", role="dispatcher", org_code="GS", display_name="王", by="admin", by_role="admin")
    assert [e["action"] for e in history(ctx, "wang")] == ["account_recorded", "account_change"]
    assert verify(ctx).findings == []


def test_0026_indexes_a_row_per_text_source_and_its_downgrade_puts_a_document_per_case_back(
        empty_engine: Engine) -> None:
    from alembic import command

    from duban.migrations import alembic_config
    from duban.services import CaseService
    from tests.factories import CLERK, DISPATCHER, LEADER, REPORTED, complaint, unit_actor, world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    number = CaseService(ctx).register(complaint(title="某村饮水困难"), actor=CLERK).case.number
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "管道已经更换完毕"})
    _as_if_written_at(empty_engine, "0025")

    def index_rows() -> int:
        with empty_engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM case_search")).scalar_one()

    def found(typed: str) -> list[str]:
        return _found(ctx, LEADER, typed)

    assert index_rows() == 1  # 0025: one document per case
    upgrade(empty_engine)
    assert index_rows() == 2  # the case's own row and its report's
    assert found("管道已经更换") == [number] and found("饮水") == [number]
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0025")
    assert index_rows() == 1
    with empty_engine.begin() as conn:  # 0025's triggers are back: the case's document is rebuilt
        conn.execute(text("UPDATE handling_reports SET text = '水管已通水'"))
        document = conn.execute(text("SELECT raw_text FROM case_search")).scalar_one()
    assert "水管已通水" in document and "管道已经更换" not in document


def _indexes_of_cases(engine: Engine) -> set[str]:
    catalogue = {"sqlite": "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'",
                 "postgresql": "SELECT indexname FROM pg_indexes WHERE tablename = 'cases'"}
    with engine.connect() as conn:
        return set(conn.execute(text(catalogue[engine.dialect.name])).scalars())


def test_the_migrations_make_the_work_order_index(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert WORK_ORDER_INDEX in _indexes_of_cases(empty_engine)


def test_the_models_make_the_work_order_index(engine: Engine) -> None:
    assert WORK_ORDER_INDEX in _indexes_of_cases(engine)


def _new_case_trigger(engine: Engine) -> str:
    catalogue = {
        "sqlite": "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'case_search_r0'",
        "postgresql": "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'case_search_r0'"}
    with engine.connect() as conn:
        return conn.execute(text(catalogue[engine.dialect.name])).scalar_one()


def test_0029_lets_a_batch_skip_the_new_case_trigger_and_its_downgrade_takes_that_back(
        empty_engine: Engine) -> None:
    from alembic import command

    from duban.migrations import alembic_config

    upgrade(empty_engine)
    deferrable = _new_case_trigger(empty_engine)
    assert "search_deferred" in deferrable and "AFTER INSERT ON" in deferrable.replace('"', "")
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0029-1")
    before = _new_case_trigger(empty_engine)
    assert "search_deferred" not in before and "AFTER INSERT ON" in before.replace('"', "")
    upgrade(empty_engine)
    assert _new_case_trigger(empty_engine) == deferrable


def test_0030_gives_each_index_row_its_case_s_regions_and_its_downgrade_takes_them_back(
        empty_engine: Engine) -> None:
    from alembic import command

    from duban.migrations import alembic_config
    from duban.models import search
    from duban.services import Actor, CaseService
    from tests.factories import CLERK, DISPATCHER, REPORTED, complaint, org_id, unit_actor, world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    number = CaseService(ctx).register(complaint(title="某村饮水困难", office_code="GS"),
                                       actor=CLERK).case.number
    city = Actor("兰州市分流员", "dispatcher", org_id(ctx, "GS-LZ"))

    def found(typed: str) -> list[str]:
        return _found(ctx, city, typed)

    def current() -> bool:
        with empty_engine.connect() as conn:
            return search.is_current(conn)

    assert current() and found("饮水") == []  # the province's case: not the city's
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0029")
    assert not current()
    # 0029's triggers keep the index without regions: a case handed to a unit of the city
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "管道已经更换完毕"})
    upgrade(empty_engine)  # every row rebuilt with its case's regions
    assert current()
    assert found("饮水") == [number] and found("管道") == [number] and found("管道已经更换") == [number]


def _work_order_index(engine: Engine) -> str:
    catalogue = {"sqlite": "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n",
                 "postgresql": "SELECT indexdef FROM pg_indexes WHERE indexname = :n"}
    with engine.connect() as conn:
        return conn.execute(text(catalogue[engine.dialect.name]), {"n": WORK_ORDER_INDEX}).scalar_one()


def test_0031_puts_the_lists_filters_in_the_work_order_index_and_its_downgrade_takes_them_out(
        empty_engine: Engine) -> None:
    from alembic import command

    from duban.migrations import alembic_config

    upgrade(empty_engine)
    filtered = _work_order_index(empty_engine)
    assert "received_at" in filtered and "category" in filtered and "office_id" in filtered
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0030")
    ordered = _work_order_index(empty_engine)
    assert "received_at" not in ordered and "priority_rank" in ordered
    upgrade(empty_engine)
    assert _work_order_index(empty_engine) == filtered


def test_postgresql_keeps_statistics_of_every_org_s_share_of_the_cases(engine: Engine,
                                                                          empty_engine: Engine) -> None:
    if engine.dialect.name != "postgresql" or empty_engine.dialect.name != "postgresql":
        pytest.skip("a statistics target is PostgreSQL's")
    from duban.models.case import ORG_COLUMNS, ORG_STATISTICS

    upgrade(empty_engine)
    for made in (engine, empty_engine):  # by the models, by the migrations
        with made.connect() as conn:
            targets = dict(conn.execute(text(
                "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = 'cases'::regclass "
                "AND attname = ANY(:c)"), {"c": list(ORG_COLUMNS)}).all())
        assert targets == dict.fromkeys(ORG_COLUMNS, ORG_STATISTICS), made.url


def _found(ctx: Any, actor: Any, typed: str) -> list[str]:
    """The numbers of the cases on the first page of `actor`'s list searched for `typed`."""
    from duban.services.queries import scope_for
    from duban.services.reading import case_page
    from duban.services.search import CaseQuery, narrow

    with Session(ctx.engine) as session:
        flt = narrow(scope_for(session, actor), CaseQuery.parse({"text": typed}), ctx.orgs)
    return [r.number for r in case_page(ctx, flt, actor=actor).rows]


def _search_indexes(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                      "WHERE tablename = 'case_search' AND indexdef LIKE '%gin%'")).all())


def test_0032_indexes_either_document_at_once_and_its_downgrade_puts_the_raw_document_s_back(
        empty_engine: Engine) -> None:
    if empty_engine.dialect.name != "postgresql":
        pytest.skip("SQLite's FTS5 index is the same before and after 0032")
    from alembic import command

    from duban.migrations import alembic_config
    from duban.services import CaseService
    from tests.factories import CLERK, DISPATCHER, complaint, world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    number = CaseService(ctx).register(complaint(title="某村饮水困难", complainant_name="司马秘密"),
                                       actor=CLERK).case.number

    def found(typed: str) -> list[str]:
        return _found(ctx, DISPATCHER, typed)

    either = _search_indexes(empty_engine)
    assert {"ix_case_search_either_text", "ix_case_search_either_text_grams",
            "ix_case_search_either_text_grams_children", "ix_case_search_open_text",
            "ix_case_search_open_text_grams", "ix_case_search_open_text_grams_children"} == set(either)
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0031")
    raw = {"ix_case_search_raw_text", "ix_case_search_raw_text_grams",
           "ix_case_search_open_text", "ix_case_search_open_text_grams"}
    assert set(_search_indexes(empty_engine)) == raw
    assert found("司马秘密") == [number]  # the index is an index: the answers never depended on it
    upgrade(empty_engine)
    assert _search_indexes(empty_engine) == either
    assert found("司马秘密") == [number] and found("饮水") == [number] and found("秘") == [number]


def test_0042_indexes_the_rows_of_reports_apart_and_its_downgrade_takes_them_away(
        empty_engine: Engine) -> None:
    if empty_engine.dialect.name != "postgresql":
        pytest.skip("SQLite's FTS5 index is the same before and after 0042")
    from alembic import command

    from duban.migrations import alembic_config
    from duban.services import CaseService
    from tests.factories import CLERK, DISPATCHER, REPORTED, complaint, unit_actor, world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    number = CaseService(ctx).register(complaint(title="某村饮水困难"), actor=CLERK).case.number
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={"text": "已铺设管道", **REPORTED})

    def found(typed: str) -> list[str]:
        return _found(ctx, DISPATCHER, typed)

    children = {"ix_case_search_open_text_grams_children", "ix_case_search_either_text_grams_children"}
    assert children <= set(_search_indexes(empty_engine))
    assert "WHERE (kind > 0)" in _search_indexes(empty_engine)["ix_case_search_open_text_grams_children"]
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0041")
    assert not children & set(_search_indexes(empty_engine))
    assert found("饮水困难 铺设管道") == [number]  # the answers never depended on the index
    upgrade(empty_engine)
    assert children <= set(_search_indexes(empty_engine))
    assert found("饮水困难 铺设管道") == [number] and found("铺设 饮水 某村") == [number]
    assert found("饮水困难 积水") == []


def test_0033_gives_postgresql_the_scope_index_and_its_downgrade_takes_it_away(empty_engine: Engine) -> None:
    if empty_engine.dialect.name != "postgresql":
        pytest.skip("SQLite reaches a case's row by its rowid: 0033 changes nothing there")
    from duban.models.case import SCOPE_COLUMNS, SCOPE_INDEX

    indexed = _made_and_unmade(empty_engine, SCOPE_INDEX, "0032")
    assert indexed is not None and all(c in indexed for c in SCOPE_COLUMNS)


def test_0044_and_0048_give_each_database_the_units_receipt_index_and_their_downgrades_take_it_away(
        empty_engine: Engine) -> None:
    from alembic import command

    from duban.migrations import alembic_config
    from duban.models.case import UNIT_RECEIVED_INDEX

    indexed = _made_and_unmade(empty_engine, UNIT_RECEIVED_INDEX, "0043")
    assert indexed is not None and "(unit_id, received_at)" in indexed
    # 0044 made PostgreSQL's, 0048 SQLite's
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0047")
    kept = _index_sql(empty_engine, UNIT_RECEIVED_INDEX) == indexed
    assert kept is (empty_engine.dialect.name == "postgresql")


def test_0046_gives_postgresql_s_scope_index_each_case_s_place_and_its_downgrade_takes_it_back(
        empty_engine: Engine) -> None:
    if empty_engine.dialect.name != "postgresql":
        pytest.skip("SQLite reaches a case's row by its rowid: 0046 changes nothing there")
    from alembic import command

    from duban.migrations import alembic_config
    from duban.models.case import PLACE_COLUMNS, SCOPE_INDEX

    def included() -> str:
        with empty_engine.connect() as conn:
            return str(conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                                    {"n": SCOPE_INDEX}).scalar_one()).split("INCLUDE")[1]

    upgrade(empty_engine)
    assert all(c in included() for c in PLACE_COLUMNS)
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0045")
    assert not any(c in included() for c in PLACE_COLUMNS) and "deadline_on" in included()
    upgrade(empty_engine)
    assert all(c in included() for c in PLACE_COLUMNS)


def _made_and_unmade(engine: Engine, index: str, before: str) -> str | None:
    """The definition of `index` at the newest migration; downgraded to `before`, it must be gone,
    and upgraded again, back as it was."""
    from alembic import command

    from duban.migrations import alembic_config

    upgrade(engine)
    indexed = _index_sql(engine, index)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, before)
    assert _index_sql(engine, index) is None
    upgrade(engine)
    assert _index_sql(engine, index) == indexed
    return indexed


def _index_sql(engine: Engine, index: str) -> str | None:
    """The definition of `index` as the database's catalogue has it, or None."""
    catalogue = {"sqlite": "SELECT sql FROM sqlite_master WHERE name = :n",
                 "postgresql": "SELECT indexdef FROM pg_indexes WHERE indexname = :n"}
    with engine.connect() as conn:
        return conn.execute(text(catalogue[engine.dialect.name]), {"n": index}).scalar_one_or_none()


def test_0035_gives_each_index_row_its_case_s_filter_keys_and_its_downgrade_takes_them_back(
        empty_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic import command

    from duban.migrations import alembic_config
    from duban.models.search import is_current
    from duban.services import CaseService, search
    from duban.services.queries import scope_for
    from duban.services.reading import case_page
    from duban.services.search import CaseQuery, narrow
    from tests.factories import CLERK, DISPATCHER, REPORTED, complaint, unit_actor, world

    # as in a large database: the word's rows looked up in the index, by the list's keys
    monkeypatch.setattr(search, "FILTERED_FEW", 0)
    monkeypatch.setattr(search, "NARROW", 0)
    upgrade(empty_engine)
    ctx = world(empty_engine)
    service = CaseService(ctx)
    first = service.register(complaint(title="某村饮水困难", category="water", channel="letter"),
                             actor=CLERK).case.number

    def found(**params: str) -> list[str]:
        with Session(empty_engine) as session:
            flt = narrow(scope_for(session, DISPATCHER), CaseQuery.parse(params), ctx.orgs)
        return sorted(r.number for r in case_page(ctx, flt, actor=DISPATCHER).rows)

    def current() -> bool:  # what the search bench asks before reusing a database
        with empty_engine.connect() as conn:
            return is_current(conn)

    assert found(text="饮水", category="water") == [first] and current()
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0034")
    assert not current()
    # 0034's triggers index without those keys: a new case, and a report on the first
    second = service.register(complaint(title="某镇饮水困难", category="water", channel="phone"),
                              actor=CLERK).case.number
    service.act(first, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    service.act(first, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "管道已经更换完毕"})
    upgrade(empty_engine)  # every row's keys worked out again
    assert current() and found(text="饮水", category="water") == sorted([first, second])
    assert found(text="饮水", channel="phone") == [second]
    assert found(text="管道", channel="letter") == [first]
    assert found(text="饮水", category="arrears") == []


@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index ix_cases_work_order")
def test_0043_keys_each_index_row_of_a_case_without_a_deadline_and_its_downgrade_takes_the_key_away(
        empty_engine: Engine) -> None:
    from alembic import command

    from duban import scopekeys
    from duban.migrations import alembic_config
    from duban.services import CaseService
    from tests.factories import CLERK, DISPATCHER, REPORTED, complaint, unit_actor, world

    def undated() -> set[int]:  # the cases whose rows hold the key
        return _keyed_cases(empty_engine, scopekeys.UNDATED)

    def ids(*numbers: str) -> set[int]:
        return _case_ids(empty_engine, numbers)

    def current() -> bool:
        return _index_current(empty_engine)

    def clear(*numbers: str, day: str | None = None) -> None:  # as a close leaves a case: no deadline
        with empty_engine.begin() as conn:
            conn.execute(text("UPDATE cases SET deadline_on = :d, missed_deadline_on = NULL "
                              "WHERE number IN :n").bindparams(bindparam("n", expanding=True)),
                         {"n": list(numbers), "d": day})

    upgrade(empty_engine)
    ctx = world(empty_engine)
    service = CaseService(ctx)
    first, second, third = (service.register(complaint(title=f"某村饮水困难{i}"), actor=CLERK).case.number
                            for i in range(3))  # each with its deadline to be triaged by
    service.act(first, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    clear(second, third)
    assert undated() == ids(second, third) and current()
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0042")
    assert undated() == set() and not current()
    # 0042's triggers know no such key: a report is written, a deadline goes, another comes
    service.act(first, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "管道已经更换完毕"})
    clear(first)
    service.act(second, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    assert undated() == set()
    upgrade(empty_engine)  # every row's keys worked out again
    assert undated() == ids(first, third) and current()
    assert len(_key_rows(empty_engine, scopekeys.UNDATED)) == 3  # the first's report's row too
    clear(third, day="2024-01-10")  # and kept as deadlines come
    assert undated() == ids(first)


def _keyed_cases(engine: Engine, key: str) -> set[int]:
    """The cases whose index rows hold `key`."""
    from duban.models.search import CASE_SHIFT

    return {row >> CASE_SHIFT for row in _key_rows(engine, key)}


def _case_ids(engine: Engine, numbers: tuple[str, ...]) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT id FROM cases WHERE number IN :n").bindparams(
            bindparam("n", expanding=True)), {"n": list(numbers)}).scalars())


def _index_current(engine: Engine) -> bool:
    """Whether the search index has the newest shape (models/search.py is_current)."""
    from duban.models.search import is_current

    with engine.connect() as conn:
        return is_current(conn)


def _key_rows(engine: Engine, key: str) -> list[Any]:
    """The index rows that hold `key` (duban.scopekeys; PostgreSQL's; SQLite's grams' index keeps
    no row: their rowids)."""
    from duban import scopekeys
    from duban.models.search import CASE_SHIFT, GRAMS_TABLE, SEARCH_TABLE

    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return conn.execute(text(f"SELECT rowid FROM {GRAMS_TABLE} WHERE {GRAMS_TABLE} MATCH :q"),
                                {"q": f'scope : "{scopekeys.token(key)}"'}).scalars().all()
        return conn.execute(text(f"SELECT (case_id::bigint << {CASE_SHIFT}) + (kind << 30) + source_id "
                                 f"FROM {SEARCH_TABLE} WHERE scope @> ARRAY[CAST(:k AS text)]"),
                            {"k": key}).scalars().all()


def test_0047_keys_each_index_row_of_a_finished_case_and_its_downgrade_takes_the_key_away(
        empty_engine: Engine) -> None:
    from alembic import command

    from duban import scopekeys
    from duban.migrations import alembic_config
    from duban.services import CaseService
    from tests.factories import CLERK, DISPATCHER, REPORTED, complaint, unit_actor, world

    def keyed(key: str) -> set[int]:  # the cases whose rows hold the key
        return _keyed_cases(empty_engine, key)

    def ids(*numbers: str) -> set[int]:
        return _case_ids(empty_engine, numbers)

    def current() -> bool:
        return _index_current(empty_engine)

    def put(number: str, state: str) -> None:
        with empty_engine.begin() as conn:
            conn.execute(text("UPDATE cases SET state = :s WHERE number = :n"), {"n": number, "s": state})

    upgrade(empty_engine)
    ctx = world(empty_engine)
    service = CaseService(ctx)
    first, second, third = (service.register(complaint(title=f"某村饮水困难{i}"), actor=CLERK).case.number
                            for i in range(3))
    put(second, "closed")
    put(third, "not_accepted")
    assert keyed(scopekeys.FINISHED) == ids(second, third) and keyed(scopekeys.OPEN) == ids(first)
    assert current()
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0046")
    assert keyed(scopekeys.FINISHED) == keyed(scopekeys.OPEN) == set() and not current()
    # 0046's triggers know no such key: a report is written, a case is closed, another reopened
    service.act(first, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    service.act(first, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "管道已经更换完毕"})
    put(first, "closed")
    put(second, "recheck")
    assert keyed(scopekeys.FINISHED) == set()
    upgrade(empty_engine)  # every row's keys worked out again
    assert keyed(scopekeys.FINISHED) == ids(first, third) and keyed(scopekeys.OPEN) == ids(second)
    assert current()
    assert len(_key_rows(empty_engine, scopekeys.FINISHED)) == 3  # the first's report's row too
    put(third, "received")  # and kept as cases cross
    assert keyed(scopekeys.FINISHED) == ids(first) and keyed(scopekeys.OPEN) == ids(second, third)


def test_0038_narrows_the_stored_rows_that_hold_full_width_forms_and_its_downgrade_writes_them_back(
        empty_engine: Engine) -> None:
    from alembic import command

    from duban.migrations import alembic_config
    from duban.models.search import SEARCH_TABLE, is_current
    from duban.services import CaseService
    from tests.factories import CLERK, DISPATCHER, REPORTED, complaint, unit_actor, world

    upgrade(empty_engine)
    ctx = world(empty_engine)
    service = CaseService(ctx)

    def found(typed: str) -> list[str]:
        return sorted(_found(ctx, DISPATCHER, typed))

    def documents() -> set[str]:
        with empty_engine.connect() as conn:
            rows = conn.execute(text(f"SELECT open_text, raw_text FROM {SEARCH_TABLE}"))
            return {t for row in rows for t in row}

    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0037")
    with empty_engine.connect() as conn:
        assert not is_current(conn)
    # 0037's triggers index the texts as written: a case, a report, a phone in full-width
    wide = service.register(complaint(title="小区ＱＱ群", summary="联系１３８００１，供\u200b暖",
                                      complainant_name="欧阳", complainant_phone="１３９１２３４５６７８"),
                            actor=CLERK).case.number
    service.act(wide, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    service.act(wide, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "已更换ＡＰ设备"})
    as_written = documents()
    assert any("ＱＱ" in d for d in as_written)
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert is_current(conn)
    assert not any(c in d for d in documents() for c in "ＱＡ１３\u200b")
    for typed in ("QQ群", "ＱＱ群", "138001", "AP设备", "13912345678", "供暖"):
        assert found(typed) == [wide], typed
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0037")
    assert documents() == as_written
    upgrade(empty_engine)
