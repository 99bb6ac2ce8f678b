"""The audit trail: append-only in the database, keyed, covering each action's rows, replayed
against the case row and compared with signed checkpoints; each rewrite named by verify."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from duban.clock import SimulatedClock
from duban.config.settings import Settings
from duban.errors import CaseNotFound
from duban.services import CaseService, ServiceContext
from duban.services.audit import legacy_hash
from duban.services.auditkeys import load_keyring, rotate_key
from duban.services.backup import backup, restore
from duban.services.checkpoints import Place, write_checkpoint
from duban.services.integrity import verify, verify_audit
from tests.factories import DISPATCHER, REPORTED, SUPERVISOR, complaint, transferred, unit_actor, world

UNIT = "GS-LZ-CG-GOV"


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    """Three cases: 1 reported, 2 approved and called back (closed), 3 with an extension approved."""
    ctx = world(engine)
    service = CaseService(ctx)
    unit = unit_actor(ctx, UNIT)
    numbers = [transferred(ctx, title=f"事项{i}") for i in range(3)]
    for number in numbers[:2]:
        service.act(number, "submit_report", actor=unit, form={**REPORTED, "text": "报告"})
    service.act(numbers[1], "approve", actor=SUPERVISOR, form={"note": "同意"})
    service.act(numbers[1], "record_callback", actor=DISPATCHER,
                form={"method": "phone", "result": "satisfied", "note": "满意"})
    service.act(numbers[2], "request_extension", actor=unit, form={"days": 10, "reason": "需协调"})
    service.act(numbers[2], "approve_extension", actor=SUPERVISOR, form={"note": "同意延期"})
    return ctx


def _sql(ctx: ServiceContext, *statements: str) -> None:
    """What someone with raw database access does: first the guards off, then the change."""
    if ctx.engine.dialect.name == "sqlite":
        raw = ctx.engine.raw_connection()  # the driver's own: PRAGMA foreign_keys only works outside
        try:                              # a transaction, and foreign keys are no guard either
            cursor = raw.cursor()
            cursor.execute("PRAGMA foreign_keys = OFF")
            for name in ("no_update", "no_delete", "no_replace"):
                cursor.execute(f"DROP TRIGGER IF EXISTS audit_events_{name}")
            for statement in statements:
                cursor.execute(statement)
            raw.commit()
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            raw.close()
        return
    with ctx.engine.begin() as conn:  # as a superuser: triggers and foreign keys off for this transaction
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement))


def checkpointed(ctx: ServiceContext, tmp_path: Path) -> Place:
    """A checkpoint file beside the test, with one signed checkpoint of the database as it is."""
    place = Place(tmp_path / "audit", tmp_path / "cp.pem")
    write_checkpoint(ctx.engine, place)
    return place


def _problems(ctx: ServiceContext, place: Place | None = None) -> list[str]:
    return [str(f) for f in verify(ctx, place=place).findings]


def _rechain_plain(ctx: ServiceContext, case_id: int) -> None:
    """Rewrite a case's chain as the old unkeyed SHA-256 chain would have it, head included."""
    with ctx.engine.connect() as conn:
        events = conn.execute(text("SELECT id, seq, at, actor, actor_role, action, from_state, to_state,"
                                   " reason, data FROM audit_events WHERE case_id = :c ORDER BY seq"),
                              {"c": case_id}).mappings().all()
    from duban.models import AuditEvent

    table = AuditEvent.__table__  # type: ignore[attr-defined]
    prev = ""
    statements = []
    with ctx.engine.connect() as conn:
        rows = conn.execute(table.select().where(table.c.case_id == case_id).order_by(table.c.seq)).mappings()
        for ev in rows:
            digest = legacy_hash(prev_hash=prev, case_id=case_id, seq=ev["seq"], at=ev["at"],
                                 actor=ev["actor"], actor_role=ev["actor_role"], action=ev["action"],
                                 from_state=ev["from_state"], to_state=ev["to_state"], reason=ev["reason"],
                                 data=ev["data"])
            statements.append(f"UPDATE audit_events SET prev_hash = '{prev}', hash = '{digest}', alg = '',"
                              f" key_id = '' WHERE id = {ev['id']}")
            prev = digest
    assert events
    _sql(ctx, *statements, f"UPDATE cases SET audit_hash = '{prev}' WHERE id = {case_id}")


# -- append-only in the database ------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET reason = 'changed' WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 3",
    "DELETE FROM audit_events",
])
def test_the_database_refuses_to_change_or_delete_an_audit_event(ctx: ServiceContext, statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as conn:
        conn.execute(text(statement))


def test_sqlite_refuses_insert_or_replace_and_upsert_of_an_event(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("REPLACE and this UPSERT form are SQLite's")
    columns = ("id, case_id, seq, at, actor, actor_role, action, from_state, to_state, reason, data,"
               " prev_hash, hash, alg, key_id, facts, rows, reason_redacted")
    for statement in (
        f"INSERT OR REPLACE INTO audit_events ({columns}) SELECT "
        f"{columns.replace('actor,', ''' '别人',''', 1)}"
        " FROM audit_events WHERE case_id = 1 AND seq = 2",
        f"REPLACE INTO audit_events ({columns}) SELECT {columns} FROM audit_events WHERE id = 1",
        f"INSERT INTO audit_events ({columns}) SELECT {columns} FROM audit_events WHERE id = 1"
        " ON CONFLICT(id) DO UPDATE SET actor = '别人'",
    ):
        with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as conn:
            conn.execute(text(statement))
    assert verify(ctx).findings == []


def test_an_intact_trail_verifies(ctx: ServiceContext) -> None:
    assert verify_audit(ctx) == (3, 12, [])


# -- the classes of rewrite, each named -------------------------------------------------------

def test_an_event_rewritten_and_the_chain_recomputed_with_plain_sha256_is_named(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE audit_events SET actor = '别人', reason = '改过' WHERE case_id = 2 AND seq = 2")
    _rechain_plain(ctx, 2)
    problems = _problems(ctx)
    assert "GS-2023-00002: 事件2（转办）没有密钥，却带着有密钥的事件才有的字段（被降级）" \
        in problems
    assert all(p.startswith("GS-2023-00002") for p in problems), problems


def test_a_whole_case_rewritten_as_an_old_unkeyed_chain_is_named(ctx: ServiceContext) -> None:
    """Even with the keyed fields emptied, so that it looks like a trail from before keys."""
    _sql(ctx, "UPDATE audit_events SET actor = '别人', facts = '', rows = '' WHERE case_id = 2")
    _rechain_plain(ctx, 2)
    problems = _problems(ctx)
    assert problems and all(p.startswith("GS-2023-00002") for p in problems), problems


def test_an_event_rewritten_with_its_own_mac_kept_is_named_altered(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE audit_events SET actor = '别人' WHERE case_id = 2 AND seq = 2")
    assert _problems(ctx) == ["GS-2023-00002: 事件2（转办）被改动"]


@pytest.mark.parametrize("column, value", [
    ("key_id", "'000000000000'"), ("alg", "'sha256'"), ("alg", "''"), ("data", """'{"unit": "X"}'"""),
    ("facts", "''"), ("rows", "''"), ("at", "at"), ("seq", "9"),
])
def test_editing_any_field_of_an_event_is_named(ctx: ServiceContext, column: str, value: str) -> None:
    if column == "at":
        value = "'2020-01-01 00:00:00'" if ctx.engine.dialect.name == "sqlite" else "'2020-01-01 00:00:00+00'"
    _sql(ctx, f"UPDATE audit_events SET {column} = {value} WHERE case_id = 1 AND seq = 3")
    problems = _problems(ctx)
    assert problems and all(p.startswith("GS-2023-00001: ") for p in problems), problems


def test_insert_or_replace_with_triggers_dropped_is_named(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's")
    columns = ("id, case_id, seq, at, actor, actor_role, action, from_state, to_state, reason, data,"
               " prev_hash, hash, alg, key_id, facts, rows, reason_redacted")
    _sql(ctx, f"INSERT OR REPLACE INTO audit_events ({columns}) SELECT "
              f"{columns.replace('reason,', ''' '篡改',''', 1)} FROM audit_events"
              " WHERE case_id = 3 AND seq = 2")
    assert _problems(ctx) == ["GS-2023-00003: 事件2（转办）被改动"]


def test_a_case_row_deleted_is_named(ctx: ServiceContext, tmp_path: Path) -> None:
    place = checkpointed(ctx, tmp_path)
    _sql(ctx, "DELETE FROM cases WHERE id = 2")
    problems = _problems(ctx, place)
    assert "（案件id 2）: 有5条事件，却没有案件记录（被删除，或事件被移到它名下）" in problems
    assert "GS-2023-00002: 案件自检查点1之后缺失（当时有5条事件）" in problems


def test_a_case_deleted_with_its_whole_trail_is_named_against_the_checkpoint(ctx: ServiceContext,
                                                                            tmp_path: Path) -> None:
    place = checkpointed(ctx, tmp_path)
    tables = ["audit_events", "callbacks", "reviews", "handling_reports", "callback_tasks", "pressure_steps",
              "notifications", "extensions"]
    _sql(ctx, *[f"DELETE FROM {t} WHERE case_id = 2" for t in tables], "DELETE FROM cases WHERE id = 2")
    assert _problems(ctx, place) == ["GS-2023-00002: 案件自检查点1之后缺失（当时有5条事件）"]
    assert _problems(ctx) == []  # without the checkpoint nothing in the database tells


def test_a_state_set_without_an_event_is_named(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE cases SET state = 'closed' WHERE id = 1")
    assert _problems(ctx) == [
        "GS-2023-00001: 案件记录与其事件不符：state现为'closed'，事件3记为'reported'"]


@pytest.mark.parametrize("column, value, fact", [
    ("unit_id", "NULL", "unit_id"), ("disposition", "'escalate'", "disposition"),
    ("deadline_on", "'2030-01-01'", "deadline_on"), ("return_count", "5", "return_count"),
    ("extension_days", "0", "extension_days"),
])
def test_a_case_fact_changed_without_an_event_is_named(ctx: ServiceContext, column: str, value: str,
                                                       fact: str) -> None:
    _sql(ctx, f"UPDATE cases SET {column} = {value} WHERE id = 3")
    problems = _problems(ctx)
    assert len(problems) == 1 and problems[0].startswith(
        f"GS-2023-00003: 案件记录与其事件不符：{fact}现为"), problems


def test_the_case_row_s_registered_text_edited_is_named(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE cases SET title = '别的事' WHERE id = 1")
    assert _problems(ctx) == ["GS-2023-00001: 案件 1与事件1（登记受理）所记不符（被改动）"]


@pytest.mark.parametrize("statement, problem", [
    ("UPDATE handling_reports SET text = '已全部解决' WHERE case_id = 1",
     "GS-2023-00001: 办理报告 1与事件3（提交办理报告）所记不符（被改动）"),
    ("UPDATE reviews SET decision = 'returned' WHERE case_id = 2",
     "GS-2023-00002: 审核 1与事件4（审核通过）所记不符（被改动）"),
    ("UPDATE reviews SET reasons = '改' WHERE case_id = 2",
     "GS-2023-00002: 审核 1与事件4（审核通过）所记不符（被改动）"),
    ("UPDATE callbacks SET result = 'unsatisfied' WHERE case_id = 2",
     "GS-2023-00002: 回访 1与事件5（登记回访）所记不符（被改动）"),
    ("UPDATE extensions SET days = 30 WHERE case_id = 3",
     "GS-2023-00003: 延期申请 1与事件4（批准延期）所记不符（被改动）"),
    ("UPDATE extensions SET status = 'rejected' WHERE case_id = 3",
     "GS-2023-00003: 延期申请 1与事件4（批准延期）所记不符（被改动）"),
    ("UPDATE handling_reports SET case_id = 3 WHERE case_id = 1",
     "GS-2023-00001: 办理报告 1与事件3（提交办理报告）所记不符（被改动）"),
    ("UPDATE handling_reports SET case_id = 3 WHERE case_id = 1",
     "GS-2023-00003: 办理报告 1没有任何事件记载（未经操作添加）"),
    ("DELETE FROM handling_reports WHERE case_id = 1",
     "GS-2023-00001: 办理报告 1（由事件3（提交办理报告）写入）已缺失（被删除）"),
    ("UPDATE complainants SET name = '别人' WHERE id = 1",
     "GS-2023-00001: 反映人 1与事件1（登记受理）所记不符（被改动）"),
])
def test_a_row_an_action_wrote_edited_or_removed_is_named(ctx: ServiceContext, statement: str,
                                                          problem: str) -> None:
    _sql(ctx, statement)
    assert problem in _problems(ctx)


def test_a_row_slipped_in_without_an_action_is_named(ctx: ServiceContext) -> None:
    _sql(ctx, "INSERT INTO reviews (case_id, decision, reasons, reasons_redacted, reviewer, reviewed_at)"
              " VALUES (1, 'approved', '', '', '某人', '2023-09-27 10:00:00')")
    assert _problems(ctx) == ["GS-2023-00001: 审核 2没有任何事件记载（未经操作添加）"]


def test_the_newest_event_deleted_and_the_head_reset_is_named(ctx: ServiceContext, tmp_path: Path) -> None:
    place = checkpointed(ctx, tmp_path)
    with ctx.engine.connect() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_events WHERE case_id = 2 AND seq = 4")).scalar()
    _sql(ctx, "DELETE FROM audit_events WHERE case_id = 2 AND seq = 5",
         f"UPDATE cases SET audit_seq = 4, audit_hash = '{prev}' WHERE id = 2")
    problems = _problems(ctx, place)
    assert "GS-2023-00002: 案件记录与其事件不符：state现为'closed'，事件4记为'verified'" \
        in problems
    assert "GS-2023-00002: 回访 1没有任何事件记载（未经操作添加）" in problems
    assert "GS-2023-00002: 链头倒退了：检查点1见过事件5，记录现在只到4" in problems


def test_a_whole_case_rolled_back_consistently_is_still_named_by_the_checkpoint(ctx: ServiceContext,
                                                                               tmp_path: Path) -> None:
    place = checkpointed(ctx, tmp_path)
    with ctx.engine.connect() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_events WHERE case_id = 1 AND seq = 2")).scalar()
    _sql(ctx, "DELETE FROM audit_events WHERE case_id = 1 AND seq = 3",
         "DELETE FROM handling_reports WHERE case_id = 1",
         f"UPDATE cases SET audit_seq = 2, audit_hash = '{prev}', state = 'transferred',"
         " deadline_kind = 'handling' WHERE id = 1")
    problems = _problems(ctx, place)
    assert "GS-2023-00001: 链头倒退了：检查点1见过事件3，记录现在只到2" in problems


def test_events_swapped_are_named_reordered(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE audit_events SET seq = 100 WHERE case_id = 2 AND seq = 2",
         "UPDATE audit_events SET seq = 2 WHERE case_id = 2 AND seq = 3",
         "UPDATE audit_events SET seq = 3 WHERE case_id = 2 AND seq = 100")
    problems = _problems(ctx)
    assert "GS-2023-00002: 事件2（提交办理报告）的顺序被调换" in problems


def test_an_event_moved_to_another_case_is_named_in_both(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE audit_events SET case_id = 3, seq = 6 WHERE case_id = 1 AND seq = 3")
    problems = _problems(ctx)
    assert "GS-2023-00001: 事件2之后的事件缺失（案件记到事件3）" in problems
    assert any(p.startswith("GS-2023-00003: 事件6（提交办理报告）") for p in problems), problems


def test_an_event_duplicated_is_named(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name == "sqlite":
        # SQLite cannot drop the UNIQUE (case_id, seq): the copy gets the next number instead.
        statement = ("INSERT INTO audit_events (case_id, seq, at, actor, actor_role, action, from_state,"
                     " to_state, reason, data, prev_hash, hash, alg, key_id, facts, rows) SELECT case_id, 4,"
                     " at, actor, actor_role, action, from_state, to_state, reason, data, prev_hash, hash,"
                     " alg, key_id, facts, rows FROM audit_events WHERE case_id = 1 AND seq = 3")
        _sql(ctx, statement)
        problems = _problems(ctx)
    else:
        _sql(ctx, "ALTER TABLE audit_events DROP CONSTRAINT audit_events_case_id_seq_key",
             "INSERT INTO audit_events (case_id, seq, at, actor, actor_role, action, from_state,"
             " to_state, reason, data, prev_hash, hash, alg, key_id, facts, rows) SELECT case_id, seq,"
             " at, actor, actor_role, action, from_state, to_state, reason, data, prev_hash, hash,"
             " alg, key_id, facts, rows FROM audit_events WHERE case_id = 1 AND seq = 3")
        problems = _problems(ctx)
        # the schema outlives this test (the next one only empties the tables): put it back
        _sql(ctx, "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)",
             "ALTER TABLE audit_events ADD CONSTRAINT audit_events_case_id_seq_key UNIQUE (case_id, seq)")
    assert "GS-2023-00001: 事件3（提交办理报告）在事件3之后再次出现（重复或顺序被调换）" \
        in problems or any(p.startswith("GS-2023-00001: 事件4") for p in problems), problems
    assert all(p.startswith("GS-2023-00001: ") for p in problems), problems


def test_the_event_table_emptied_is_named_for_every_case(ctx: ServiceContext) -> None:
    _sql(ctx, "DELETE FROM audit_events")
    problems = _problems(ctx)
    for n in (1, 2, 3):
        assert any(p.startswith(f"GS-2023-0000{n}: 事件0之后的事件缺失") for p in problems)


# -- keys ----------------------------------------------------------------------------------------

def test_events_made_with_another_key_are_named(ctx: ServiceContext, tmp_path: Path) -> None:
    other = load_keyring(Settings(audit_key_file=tmp_path / "other.json"))
    stranger = ServiceContext(engine=ctx.engine, clock=ctx.clock, audit_keys=other)
    problems = [str(f) for f in verify(stranger).findings]
    assert "GS-2023-00001: 事件1（登记受理）使用的密钥" in problems[0]
    assert problems[0].endswith("不在审计密钥之中（未知密钥）")


def test_after_rotating_the_key_old_and_new_events_verify(ctx: ServiceContext, tmp_path: Path) -> None:
    settings = Settings(audit_key_file=tmp_path / "keys.json")
    ring = load_keyring(settings)
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    first = ServiceContext(engine=ctx.engine, clock=ctx.clock, audit_keys=ring)
    number = transferred(first, title="轮换前")
    old, new = rotate_key(settings)
    assert old == ring.current and new != old
    rotated = ServiceContext(engine=ctx.engine, clock=ctx.clock, audit_keys=load_keyring(settings))
    CaseService(rotated).act(number, "submit_report", actor=unit_actor(rotated, UNIT),
                             form={**REPORTED, "text": "报告"})
    with ctx.engine.connect() as conn:
        kids = list(conn.execute(text("SELECT key_id FROM audit_events WHERE case_id = 4 ORDER BY seq"))
                    .scalars())
    assert kids == [old, old, new]
    problems = [str(f) for f in verify(rotated).findings]
    assert [p for p in problems if p.startswith(number)] == []


def test_the_mac_is_hmac_sm3_where_the_platform_has_sm3(ctx: ServiceContext) -> None:
    with ctx.engine.connect() as conn:
        algs = set(conn.execute(text("SELECT alg FROM audit_events")).scalars())
    assert algs == {"sm3"}


def test_a_downgrade_to_the_fallback_algorithm_is_named(ctx: ServiceContext) -> None:
    ring = ctx.audit_keys
    weak = type(ring)(ring.keys, ring.current, ring.source, alg="sha256")
    CaseService(ServiceContext(engine=ctx.engine, clock=ctx.clock, audit_keys=weak)).act(
        "GS-2023-00001", "approve", actor=SUPERVISOR)
    assert _problems(ctx) == [
        "GS-2023-00001: 事件4（审核通过）在 HMAC-SM3 事件之后使用 HMAC-SHA-256（被降级）"]


# -- checkpoints ---------------------------------------------------------------------------------

def test_an_event_changed_before_the_checkpoint_is_named(ctx: ServiceContext, tmp_path: Path) -> None:
    place = checkpointed(ctx, tmp_path)
    _sql(ctx, "UPDATE audit_events SET reason = '改' WHERE case_id = 2 AND seq = 5",
         "UPDATE audit_events SET hash = 'ab' WHERE case_id = 2 AND seq = 5",
         "UPDATE cases SET audit_hash = 'ab' WHERE id = 2")
    assert "GS-2023-00002: 事件5在检查点1之后被改动" in _problems(ctx, place)


def test_a_forged_or_replaced_checkpoint_file_is_named(ctx: ServiceContext, tmp_path: Path) -> None:
    place = checkpointed(ctx, tmp_path)
    write_checkpoint(ctx.engine, place)
    assert _problems(ctx, place) == []
    lines = place.log.read_text().splitlines()
    forged = json.loads(lines[1])
    forged["cases"] = 2
    place.log.write_text(lines[0] + "\n" + json.dumps(forged) + "\n")
    assert "（检查点）: 检查点文件第2行：签名不符（伪造或被改动；签名无效）" in _problems(ctx, place)
    place.log.write_text(lines[1] + "\n")  # the first line removed
    problems = _problems(ctx, place)
    assert any("这里应是检查点1，却是检查点2" in p for p in problems), problems
    place.log.unlink()
    assert any("缺失或为空" in p for p in _problems(ctx, place))


def test_a_checkpoint_s_heads_file_altered_is_named(ctx: ServiceContext, tmp_path: Path) -> None:
    import gzip

    place = Place(tmp_path / "audit", tmp_path / "cp.pem")
    line = write_checkpoint(ctx.engine, place)
    heads = place.folder / line["heads"]
    body = gzip.decompress(heads.read_bytes()).decode().splitlines()
    heads.write_bytes(gzip.compress(("\n".join(body[1:]) + "\n").encode()))
    assert "（检查点）: 检查点1的链头文件 heads/000001.tsv.gz 被改动" \
        in _problems(ctx, place)


def test_quick_checks_look_at_one_case_or_recent_events(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE cases SET state = 'closed' WHERE id = 1")
    assert verify(ctx, case="GS-2023-00002").findings == []
    assert verify(ctx, case="GS-2023-00002").cases == 1
    assert [f.case_number for f in verify(ctx, case="GS-2023-00001").findings] == ["GS-2023-00001"]
    import datetime as dt

    later = ctx.now() + dt.timedelta(days=1)
    assert verify(ctx, since=later).cases == 0
    assert verify(ctx, since=ctx.now() - dt.timedelta(days=1)).cases == 3


# -- verify, fast ---------------------------------------------------------------------------------

def _reference_message(*fields: object) -> bytes:
    """The MAC'd message as the first keyed chain built it: one json.dumps of the list."""
    return json.dumps(list(fields), ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str).encode("utf-8")


@pytest.mark.parametrize("actor, reason, from_state, data", [
    ("张三", "", "received", {}),
    ('引号"与\\反斜杠', "换行\n制表\t回车\r\x00\x1f\x7f\u2028😀", None,
     {"单位": "GS", "b": [1, 2.5, None, True], "a": {"z": 1, "y": "\n"}}),
    ("unit", "reason", "reported", {"late": False, "due_on": "2026-11-20", "n": 10**20}),
])
def test_the_message_a_mac_covers_is_the_canonical_json_byte_for_byte(actor: str, reason: str,
                                                                     from_state: str | None,
                                                                     data: dict[str, object]) -> None:
    import datetime as dt

    from duban.services.audit import message, message_of

    at = dt.datetime(2026, 11, 2, 10, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    fields = dict(prev_hash="ab" * 32, alg="sm3", key_id="k1", case_id=7, seq=3, at=at, actor=actor,
                  actor_role="unit", action="submit_report", from_state=from_state, to_state="reported",
                  reason=reason, data=data, facts="reported|transfer|10", rows='[["reviews",1,"aa"]]')
    expected = _reference_message("ab" * 32, "sm3", "k1", 7, 3, "2026-11-02T02:00:00.123456+00:00", actor,
                                  "unit", "submit_report", from_state, "reported", reason, data,
                                  "reported|transfer|10", '[["reviews",1,"aa"]]')
    assert message(**fields) == expected  # type: ignore[arg-type]
    # A field of another type (as a rewritten SQLite column may hold) is encoded as json.dumps does.
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    odd = message_of("ab" * 32, "sm3", "k1", "7", 3.0, "t", actor, "unit", "x", from_state, "y", reason,
                     canonical, b"facts", 5)
    assert odd == _reference_message("ab" * 32, "sm3", "k1", "7", 3.0, "t", actor, "unit", "x", from_state,
                                     "y", reason, data, b"facts", 5)
    odd = message_of("ab" * 32, "sm3", "k1", 7, 3, "t", actor, None, "x", from_state, "y", reason,
                     canonical, "facts", 5)
    assert odd == _reference_message("ab" * 32, "sm3", "k1", 7, 3, "t", actor, None, "x", from_state,
                                     "y", reason, data, "facts", 5)


def test_verify_in_two_processes_names_what_one_process_names(ctx: ServiceContext, tmp_path: Path) -> None:
    place = Place(tmp_path / "audit", tmp_path / "checkpoint.key")
    write_checkpoint(ctx.engine, place)
    _sql(ctx, "UPDATE audit_events SET actor = '别人' WHERE case_id = 1 AND seq = 2",
         "UPDATE handling_reports SET text = '改过' WHERE case_id = 2",
         "UPDATE cases SET state = 'closed' WHERE id = 3")
    one = verify(ctx, place=place, workers=1)
    two = verify(ctx, place=place, workers=2)
    assert two.processes == 2 and one.processes == 1
    assert [str(f) for f in two.findings] == [str(f) for f in one.findings]
    assert {f.case_number for f in two.findings} == {"GS-2023-00001", "GS-2023-00002", "GS-2023-00003"}
    assert (two.cases, two.events) == (one.cases, one.events) == (3, one.events)
    assert len(verify(ctx, place=place, workers=2, limit=2).findings) == 2


def test_a_time_verify_cannot_read_is_named_not_a_crash(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite stores any text in a time column")
    _sql(ctx, "UPDATE audit_events SET at = 'yesterday' WHERE case_id = 2 AND seq = 2",
         "UPDATE cases SET dispatched_at = '2026-13-45 99:00:00.000000' WHERE id = 3")
    problems = _problems(ctx)
    assert "GS-2023-00002: 事件2（转办）被改动" in problems
    assert any(p.startswith("GS-2023-00003: 案件记录与其事件不符：dispatched_at")
               for p in problems)


def test_a_time_spelled_another_way_for_the_same_moment_still_verifies(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("SQLite stores times as text")
    # Seconds without the microseconds SQLAlchemy writes: read through the type, the same moment.
    _sql(ctx, "UPDATE audit_events SET at = substr(at, 1, 19) WHERE case_id = 1 AND at LIKE '%.000000'")
    with ctx.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events WHERE length(at) = 19")).scalar()
    assert _problems(ctx) == []


# -- backups -------------------------------------------------------------------------------------

def test_a_restored_backup_has_the_state_and_trail_of_its_moment(ctx: ServiceContext, tmp_path: Path) -> None:
    if ctx.engine.dialect.name == "postgresql" and not __import__("shutil").which("pg_dump"):
        pytest.fail("pg_dump is needed for PostgreSQL backups (scripts/pg installs it)")
    target = backup(ctx.engine, tmp_path / "duban.backup")
    CaseService(ctx).act("GS-2023-00001", "approve", actor=SUPERVISOR)
    assert CaseService(ctx).get("GS-2023-00001").state == "verified"
    ctx.engine.dispose()
    restore(ctx.engine.url.render_as_string(hide_password=False), target)
    assert CaseService(ctx).get("GS-2023-00001").state == "reported"
    assert verify_audit(ctx) == (3, 12, [])


def test_registration_and_link_cover_the_complainant_and_the_repeat_contact(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    from tests.factories import CLERK

    linked = service.register(complaint(title="事项0", repeat_of="GS-2023-00001", complainant_name="李四"),
                              actor=CLERK)
    assert linked.linked
    with ctx.engine.connect() as conn:
        rows = json.loads(conn.execute(text("SELECT rows FROM audit_events WHERE case_id = 1 ORDER BY seq"
                                            " DESC LIMIT 1")).scalar() or "[]")
    # The repeat's own subject too: avoidance reads it (services/routing.avoided_for).
    assert sorted(r[0] for r in rows) == ["complainants", "repeat_contacts", "subjects"]
    _sql(ctx, "UPDATE repeat_contacts SET title = '别的' WHERE case_id = 1")
    assert any("重复反映记录 1与事件4（重复反映并案）所记不符" in p
               for p in _problems(ctx))


def test_row_digests_leave_the_redacted_twins_out(ctx: ServiceContext) -> None:
    _sql(ctx, "UPDATE handling_reports SET text_redacted = '（保密）'",
         "UPDATE cases SET title_redacted = 'x', summary_redacted = 'y'",
         "UPDATE audit_events SET reason_redacted = '（保密）'")
    assert _problems(ctx) == []
    assert hashlib  # the module's digests are the stdlib's


def test_the_application_role_may_not_rewrite_or_empty_the_trail_on_postgresql(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's")
    from sqlalchemy import make_url

    from duban.db import make_engine
    from duban.models.audit import APP_ROLE

    with ctx.engine.begin() as conn:  # what an operator does once (docs/faults.md)
        conn.execute(text("DROP ROLE IF EXISTS duban_service_test"))
        conn.execute(text(f"CREATE ROLE duban_service_test LOGIN IN ROLE {APP_ROLE}"))
    url = make_url(ctx.engine.url.render_as_string(hide_password=False)).set(username="duban_service_test")
    app = make_engine(url.render_as_string(hide_password=False))
    try:
        for statement in ("UPDATE audit_events SET reason = 'x' WHERE seq = 2",
                          "DELETE FROM audit_events WHERE seq = 3", "TRUNCATE audit_events CASCADE"):
            with pytest.raises(DBAPIError, match="permission denied"), app.begin() as conn:
                conn.execute(text(statement))
        with app.begin() as conn:  # everything else the service does stays allowed
            conn.execute(text("UPDATE cases SET warning = warning WHERE id = 1"))
            conn.execute(text("SELECT count(*) FROM audit_events")).scalar()
        try:  # re-redacting reasons is granted; the row trigger decides (issue 19's batch)
            with app.begin() as conn:
                conn.execute(text("UPDATE audit_events SET reason_redacted = reason_redacted WHERE seq = 2"))
        except DBAPIError as exc:
            assert "permission denied" not in str(exc)
        CaseService(ServiceContext(engine=app, clock=ctx.clock, audit_keys=ctx.audit_keys)).act(
            "GS-2023-00001", "approve", actor=SUPERVISOR)  # the service works as that role
    finally:
        app.dispose()
        with ctx.engine.begin() as conn:
            conn.execute(text("DROP OWNED BY duban_service_test"))
            conn.execute(text("DROP ROLE duban_service_test"))
    assert _problems(ctx) == []


def test_a_later_checkpoint_does_not_launder_a_case_deleted_before_it(ctx: ServiceContext,
                                                                     tmp_path: Path) -> None:
    place = checkpointed(ctx, tmp_path)
    tables = ["audit_events", "callbacks", "reviews", "handling_reports", "callback_tasks", "pressure_steps",
              "notifications", "extensions"]
    _sql(ctx, *[f"DELETE FROM {t} WHERE case_id = 2" for t in tables], "DELETE FROM cases WHERE id = 2")
    line = write_checkpoint(ctx.engine, place)  # say the next sweep's
    assert line["alarms"] == ["GS-2023-00002: 案件自检查点1之后缺失（当时有5条事件）"]
    assert _problems(ctx, place) == [
        "GS-2023-00002: 案件自检查点1之后缺失（当时有5条事件）（检查点2发现）"]


def test_restore_refuses_a_backup_that_fails_verification_and_leaves_the_database(ctx: ServiceContext,
                                                                                tmp_path: Path) -> None:
    from duban.services.backup import restore_verified

    _sql(ctx, "UPDATE cases SET state = 'closed' WHERE id = 1")
    target = backup(ctx.engine, tmp_path / "tampered.backup")
    newer = transferred(ctx, title="备份之后")
    url = ctx.engine.url.render_as_string(hide_password=False)
    ctx.engine.dispose()
    report = restore_verified(url, target)
    assert [str(f) for f in report.findings] == [
        "GS-2023-00001: 案件记录与其事件不符：state现为'closed'，事件3记为'reported'"]
    assert CaseService(ctx).get(newer).title_redacted == "备份之后"  # not replaced
    ctx.engine.dispose()  # the service is stopped before a restore
    restore_verified(url, target, force=True)
    with pytest.raises(CaseNotFound):
        CaseService(ctx).get(newer)


def test_two_cases_with_the_same_ladder_steps_verify_apart(ctx: ServiceContext) -> None:
    """Ladder steps are named by their natural key (episode/step), which every case has alike:
    verify looks each up within its own case, however many share a chunk."""
    from duban.clock import parse_local
    from duban.services.sweeps import run_deadline_sweep

    ctx.policy = ctx.policy.model_copy(deep=True)
    for ladder_step in ctx.policy.ladder.steps:  # every step fired by the engine, none proposed
        ladder_step.mode = "automatic"
    ctx.policy.sign_for.remind_after_workdays = []  # the ladder's steps only
    for i in range(2):
        transferred(ctx, title=f"又一件事项{i}")
    assert isinstance(ctx.clock, SimulatedClock)
    ctx.clock.set(parse_local("2023-12-20 08:30"))
    fired = run_deadline_sweep(ctx).steps  # one step each: the one the case has reached
    assert len(fired) == 1 and sum(fired.values()) >= 2
    step = next(iter(fired))
    assert _problems(ctx) == []
    with ctx.engine.connect() as conn:
        first, second = conn.execute(text(
            f"SELECT case_id FROM pressure_steps WHERE step = '{step}' ORDER BY case_id LIMIT 2")).scalars()
    _sql(ctx, f"UPDATE pressure_steps SET outcome = 'skipped' WHERE case_id = {second} AND step = '{step}'")
    problems = _problems(ctx)
    assert len(problems) == 1 and f"{step}与事件" in problems[0], problems
    with ctx.engine.connect() as conn:
        numbers = dict(conn.execute(text("SELECT id, number FROM cases")).all())
    assert problems[0].startswith(numbers[second]) and not problems[0].startswith(numbers[first])
