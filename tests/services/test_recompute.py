"""A calendar published after deadlines were set moves them, and says by how much."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from duban.clock import parse_local
from duban.deadlines import due_date
from duban.errors import StaleCase
from duban.models import AuditEvent, Case, Org
from duban.services import CaseService, ServiceContext, recompute
from duban.services.audit import facts_of
from duban.services.integrity import verify, verify_audit
from duban.services.recompute import apply_moved, find_moved
from duban.states.definition import OPEN_STATES
from duban.workcal import CalendarBook, load_calendar_book
from tests.factories import org_id, transferred, world


def test_publishing_next_years_schedule_moves_provisional_deadlines(engine: Engine, tmp_path: Path) -> None:
    ctx = world(engine, start="2026-12-28 10:00")
    number = transferred(ctx, priority="normal")  # 15 working days: into 2027, provisional
    before = CaseService(ctx).get(number)
    assert before.deadline_provisional
    assert before.deadline_on == dt.date(2027, 1, 18)
    assert find_moved(ctx) == []

    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "2027.toml").write_text(
        'year = 2027\n[[holidays]]\nname = "元旦"\nstart = 2027-01-01\nend = 2027-01-03\n', encoding="utf-8")
    ctx.calendars = load_calendar_book(tmp_path)
    moved = find_moved(ctx)
    assert [(m.number, m.old, m.new, m.delta_days) for m in moved] == [
        (number, dt.date(2027, 1, 18), dt.date(2027, 1, 19), 1)]
    assert moved[0].provisional_before and not moved[0].provisional_after

    apply_moved(ctx, moved)
    after = CaseService(ctx).get(number)
    assert (after.deadline_on, after.deadline_provisional) == (dt.date(2027, 1, 19), False)
    assert after.version == before.version + 1
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "recompute_deadline")).one()
    assert event.data == {"from": "2027-01-18", "to": "2027-01-19", "provisional": False}
    assert find_moved(ctx) == []
    assert verify_audit(ctx)[2] == []  # the bulk path extends the hash chain like an action does


# -- many open limits at once: the bulk paths against the one-case-at-a-time definition --------

YEAR_2027 = ('year = 2027\n[[holidays]]\nname = "元旦"\nstart = 2027-01-01\nend = 2027-01-03\n'
             '[[holidays]]\nname = "春节"\nstart = 2027-02-05\nend = 2027-02-12\n')
LINXIA = ('name = "临夏回族自治州"\nregions = ["GS-LX"]\n[[holidays]]\nname = "州庆"\n'
          'start = 2027-01-11\nend = 2027-01-12\n')
# (office, unit): the unit's calendar counts when there is one, else the office's.
ORG_PAIRS = [("GS", "GS-LZ-CG-GOV"), ("GS", "GS-LX-GOV"), ("GS-LX", None), ("GS-LX", "GS-LZ-CG-GOV")]
STARTS = [dt.date(2026, 12, 10), dt.date(2026, 12, 28), dt.date(2027, 1, 4)]
LIMITS = [(15, "workdays"), (30, "days"), (60, "workdays")]


def _books(tmp_path: Path) -> tuple[CalendarBook, CalendarBook]:
    """The calendars before 2027 is published (Linxia's own holiday already known), and after."""
    before, after = tmp_path / "before", tmp_path / "after"
    for folder in (before, after):
        (folder / "calendar" / "local").mkdir(parents=True)
        (folder / "calendar" / "local" / "linxia.toml").write_text(LINXIA, encoding="utf-8")
    (after / "calendar" / "2027.toml").write_text(YEAR_2027, encoding="utf-8")
    return load_calendar_book(before), load_calendar_book(after)


def _load_open_limits(ctx: ServiceContext, before: CalendarBook, after: CalendarBook) -> None:
    """Open cases over every (orgs, start, limit, extension), stored as computed before 2027 was
    published, as already recomputed, and as one stale day shared by all; closed ones too."""
    ids = {code: org_id(ctx, code) for code in {c for pair in ORG_PAIRS for c in pair if c}}
    now = parse_local("2026-12-01 10:00")
    rows: list[dict[str, Any]] = []

    def add(office: str, unit: str | None, **fields: Any) -> None:
        rows.append(dict(
            number=f"R-{len(rows):05d}", title="重算", summary="", category="other", channel="phone",
            priority="normal", office_id=ids[office], level="province", disposition="transfer",
            unit_id=ids[unit] if unit else None, priority_rank=2, matter_key=f"r{len(rows)}",
            received_at=now, updated_at=now, deadline_kind="handling", return_count=0,
            repeat_count=0, version=3, audit_seq=0, audit_hash="", **fields))

    states = ["transferred", "received", "supervised"]
    for office, unit in ORG_PAIRS:
        for start in STARTS:
            for days, unit_kind in LIMITS:
                # extensions in calendar days (before units: None) and in working days
                for extension, extension_unit in ((0, None), (10, None), (10, "workdays")):
                    limit = dict(deadline_start=start, deadline_days=days, deadline_unit=unit_kind,
                                 extension_days=extension, extension_unit=extension_unit)
                    stored = [(dt.date(2027, 1, 20), True)]
                    for book in (before, after):
                        answer = due_date(book.for_org(unit or office), start=start, days=days,
                                          unit=unit_kind, extension_days=extension,
                                          extension_unit=extension_unit)
                        stored.append((answer.date, answer.provisional))
                    for deadline_on, provisional in stored:
                        add(office, unit, state=states[len(rows) % 3], deadline_on=deadline_on,
                            deadline_provisional=provisional, **limit)
                    # closed: a stale deadline that is no longer anyone's to keep
                    add(office, unit, state="closed", deadline_on=dt.date(2027, 1, 20),
                        deadline_provisional=True, **limit)
    add("GS", None, state="received", deadline_start=None, deadline_days=None, deadline_unit=None,
        extension_days=0, extension_unit=None, deadline_on=None, deadline_provisional=False)
    with ctx.engine.begin() as conn:
        conn.execute(insert(Case), rows)


def _expected_moves(ctx: ServiceContext) -> dict[str, tuple[Case, str, tuple[Any, ...]]]:
    """Case by case with due_date, as the recompute did before it worked in bulk:
    number -> (case, calendar, (old, new, provisional before, after))."""
    office, unit = aliased(Org), aliased(Org)
    query = (select(Case, office.code, unit.code)  # type: ignore[call-overload]
             .join(office, col(Case.office_id) == office.id)
             .outerjoin(unit, col(Case.unit_id) == unit.id)
             .where(col(Case.state).in_(OPEN_STATES), col(Case.deadline_start).is_not(None)))
    expected = {}
    with Session(ctx.engine) as session:
        for case, office_code, unit_code in session.exec(query):
            calendar = ctx.calendar_for(unit_code or office_code)
            answer = due_date(calendar, start=case.deadline_start, days=case.deadline_days,
                              unit=case.deadline_unit, extension_days=case.extension_days,
                              extension_unit=case.extension_unit)
            if (answer.date, answer.provisional) != (case.deadline_on, case.deadline_provisional):
                expected[case.number] = (case, calendar.name, (
                    case.deadline_on, answer.date, case.deadline_provisional, answer.provisional))
    return expected


@pytest.fixture
def published(engine: Engine, tmp_path: Path) -> ServiceContext:
    """Open limits stored before 2027 was published; the context already knows 2027."""
    ctx = world(engine, start="2026-12-01 10:00")
    before, after = _books(tmp_path)
    _load_open_limits(ctx, before, after)
    ctx.calendars = after
    return ctx


def test_find_moved_agrees_with_due_date_case_by_case(published: ServiceContext) -> None:
    expected = _expected_moves(published)
    moved = find_moved(published)
    assert {m.number: (m.old, m.new, m.provisional_before, m.provisional_after) for m in moved} == {
        number: move for number, (_, _, move) in expected.items()}
    assert [m.case_id for m in moved] == sorted(m.case_id for m in moved)


def test_the_open_limits_tell_a_wrongly_keyed_shortcut_from_due_date(published: ServiceContext) -> None:
    """What makes the test above fail for a shortcut that forgets part of its key."""
    news: dict[tuple[Any, ...], set[tuple[str, int, dt.date]]] = {}
    for case, calendar, (old, new, before, _) in _expected_moves(published).values():
        limit = (case.deadline_start, case.deadline_days, case.deadline_unit, old, before)
        news.setdefault(limit, set()).add((calendar, (case.extension_days, case.extension_unit), new))
    # the same stored limit moves to another day under Linxia's calendar than the official one
    assert any(len({new for cal, ext, new in group if ext == (0, None)}) > 1 for group in news.values())
    # ... and with an extension than without
    assert any(len({new for cal, ext, new in group if cal == "official"}) > 1 for group in news.values())
    # ... and with 10 working days than with 10 calendar days (the extension's unit is in the key)
    assert any(len({new for cal, ext, new in group if cal == "official" and ext[0] == 10}) > 1
               for group in news.values())
    # some deadlines keep their day and only stop being provisional (the flag is part of the key)
    moves = [move for _, _, move in _expected_moves(published).values()]
    assert any(old == new and before and not after for old, new, before, after in moves)
    assert find_moved(published)  # and every limit is also stored as already recomputed


@pytest.mark.parametrize("writers", [1, 2])
def test_apply_moved_stores_every_move_with_one_event_on_its_chain_chunk_by_chunk(
        published: ServiceContext, monkeypatch: pytest.MonkeyPatch, writers: int) -> None:
    monkeypatch.setattr(recompute, "CHUNK", 9)  # several chunks and a short last one
    monkeypatch.setattr(recompute, "WRITERS", writers)
    moved = find_moved(published)
    assert len(moved) > 3 * 9 and len(moved) % 9
    with Session(published.engine) as session:
        before = {c.number: c for c in session.exec(select(Case))}

    assert apply_moved(published, moved) == len(moved)

    with Session(published.engine) as session:
        after = {c.number: c for c in session.exec(select(Case))}
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "recompute_deadline")).all()
    by_number = {m.number: m for m in moved}
    for number, case in after.items():
        m = by_number.get(number)
        if m is None:
            assert case.version == before[number].version  # untouched
            continue
        assert (case.deadline_on, case.deadline_provisional) == (m.new, m.provisional_after)
        assert case.version == before[number].version + 1
        assert case.sweep_due_on == dt.date(2026, 12, 1)
    assert sorted(e.case_id for e in events) == sorted(m.case_id for m in moved)
    for event in events:
        m = next(x for x in moved if x.case_id == event.case_id)
        assert event.data == {"from": str(m.old), "to": str(m.new), "provisional": m.provisional_after}
        assert event.from_state == event.to_state == after[m.number].state
    assert verify_audit(published)[2] == []  # every hash is audit.event_hash's, chained
    assert find_moved(published) == []


def test_a_case_changed_under_the_recompute_fails_its_chunk_with_stale_case(
        published: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    moved = find_moved(published)
    store = recompute._STORES[published.engine.dialect.name]
    heads = store.heads

    def racing_heads(conn: Connection, ids: list[int]) -> Any:
        read = heads(conn, ids)
        # an action commits on one of the cases after its head was read
        conn.execute(update(Case).where(col(Case.id) == ids[1]).values(version=Case.version + 1))
        return read

    monkeypatch.setattr(store, "heads", racing_heads)
    with pytest.raises(StaleCase):
        apply_moved(published, moved)
    with Session(published.engine) as session:
        assert session.exec(select(AuditEvent)).all() == []  # the whole chunk rolled back
    monkeypatch.undo()
    assert find_moved(published) == moved


@pytest.mark.parametrize("chunk", [10_000, 9])
def test_a_deadline_changed_between_find_and_apply_is_left_as_the_action_set_it(
        published: ServiceContext, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(recompute, "CHUNK", chunk)  # one chunk; several, stored two at a time
    moved = find_moved(published)
    changed = moved[-5]  # in the last chunk but one of 9
    # say an extension was approved meanwhile: the action stored a deadline of its own
    with published.engine.begin() as conn:
        conn.execute(update(Case).where(col(Case.id) == changed.case_id)
                     .values(deadline_on=dt.date(2027, 3, 1), version=Case.version + 1))

    assert apply_moved(published, moved) == len(moved) - 1

    kept = CaseService(published).get(changed.number)
    assert kept.deadline_on == dt.date(2027, 3, 1)
    with Session(published.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "recompute_deadline")).all()
    assert changed.case_id not in {e.case_id for e in events}
    assert len(events) == len(moved) - 1


def test_the_recompute_seals_its_events_with_the_current_key_and_the_new_deadline(
        published: ServiceContext) -> None:
    moved = find_moved(published)
    apply_moved(published, moved)
    with Session(published.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "recompute_deadline")).all()
        cases = {c.id: c for c in session.exec(select(Case))}
    assert len(events) == len(moved)
    for e in events:
        assert (e.alg, e.key_id) == (published.audit_keys.alg, published.audit_keys.current)
        assert e.facts == facts_of(cases[e.case_id])  # the stored deadline is the event's
    assert verify(published).findings == []


def test_postgresql_stores_two_chunks_at_once_each_in_its_own_transaction(
        published: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    if published.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: its chunks are stored one after the other")
    monkeypatch.setattr(recompute, "CHUNK", 9)
    store = recompute._STORES["postgresql"]
    write = store.write
    both_under_way = threading.Barrier(2, timeout=30)
    backends: set[int] = set()
    first = [True]

    def meeting_write(conn: Connection, events: Any, rows: Any) -> int:
        backends.add(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        if first[0]:
            # the first two chunks wait for each other here: only chunks written at the same
            # time on two connections get past it (one after the other breaks the barrier)
            both_under_way.wait()
            first[0] = len(backends) < 2
        return write(conn, events, rows)

    monkeypatch.setattr(store, "write", meeting_write)
    moved = find_moved(published)
    assert apply_moved(published, moved) == len(moved)
    # Two at least: the later chunks may take any pooled connection (under xdist the pool holds
    # the worker's earlier tests' too); the barrier is what proves two ran at once.
    assert len(backends) >= 2
    assert find_moved(published) == []
    assert verify_audit(published)[2] == []


def test_a_stale_chunk_among_parallel_ones_rolls_back_alone_and_a_rerun_finishes_the_recompute(
        published: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recompute, "CHUNK", 9)
    moved = find_moved(published)
    store = recompute._STORES[published.engine.dialect.name]
    heads = store.heads
    raced: list[int] = []

    def racing_heads(conn: Connection, ids: list[int]) -> Any:
        read = heads(conn, ids)
        if not raced and ids[0] == moved[9].case_id:  # the second chunk
            raced.append(ids[1])
            # an action (no deadline of its own) changes one of the cases after its head was
            # read: on PostgreSQL it commits beside the chunk; SQLite's write lock lets no other
            # writer in, so it is written in the chunk's own transaction there
            bump = update(Case).where(col(Case.id) == ids[1]).values(version=Case.version + 1)
            if conn.dialect.name == "sqlite":
                conn.execute(bump)
            else:
                with published.engine.begin() as other:
                    other.execute(bump)
        return read

    monkeypatch.setattr(store, "heads", racing_heads)
    with pytest.raises(StaleCase):
        apply_moved(published, moved)
    with Session(published.engine) as session:
        stored = set(session.exec(select(AuditEvent.case_id)).all())
    assert not stored & {m.case_id for m in moved[9:18]}  # the stale chunk wrote nothing
    assert {m.case_id for m in moved[:9]} <= stored  # the one before it is kept
    monkeypatch.undo()

    monkeypatch.setattr(recompute, "CHUNK", 9)
    rest = find_moved(published)
    assert {m.case_id for m in rest} == {m.case_id for m in moved} - stored
    assert apply_moved(published, rest) == len(rest)
    assert find_moved(published) == []
    with Session(published.engine) as session:
        events = session.exec(select(AuditEvent.case_id)).all()
    assert sorted(events) == sorted(m.case_id for m in moved)  # one event each, none twice
    assert verify_audit(published)[2] == []
