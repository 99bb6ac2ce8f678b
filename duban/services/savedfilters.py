"""Saved filters: a user names a list filter and finds it again (the list page's query string).

A saved filter holds only what the user typed into the list's form, never a result: whatever it
finds is found again through the reader's scope (`reading.case_page`) when it is opened.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlmodel import Session, col, select

from duban.errors import InvalidActionInput
from duban.models.search import SavedFilter
from duban.services.context import ServiceContext
from duban.services.search import CaseQuery
from duban.services.writetx import write_tx

MAX_PER_USER = 30
MAX_NAME = 40


def saved_filters(ctx: ServiceContext, *, user_id: int) -> list[SavedFilter]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(SavedFilter).where(SavedFilter.user_id == user_id)
                                 .order_by(col(SavedFilter.name))))


def save_filter(ctx: ServiceContext, *, user_id: int, name: str, query: CaseQuery) -> SavedFilter:
    """Keep `query` under `name` (a name already used is overwritten: saving again updates it)."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidActionInput(action="save_filter", field="name", kind="string_too_long" if name
                                 else "missing", message=f"a name of 1 to {MAX_NAME} characters",
                                 limits={"max_length": MAX_NAME})
    kept = urlencode(query.to_params(page=1))
    with write_tx(ctx.engine) as session:
        mine = list(session.exec(select(SavedFilter).where(SavedFilter.user_id == user_id)))
        same = next((f for f in mine if f.name == name), None)
        if same is None and len(mine) >= MAX_PER_USER:
            raise InvalidActionInput(action="save_filter", field="name", kind="too_many",
                                     message=f"at most {MAX_PER_USER} saved filters per user",
                                     limits={"max": MAX_PER_USER})
        row = same or SavedFilter(user_id=user_id, name=name, created_at=ctx.now())
        row.query = kept
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def delete_filter(ctx: ServiceContext, *, user_id: int, filter_id: int) -> None:
    """Forget one of the user's saved filters (another user's is not theirs to touch: no-op)."""
    with write_tx(ctx.engine) as session:
        row = session.get(SavedFilter, filter_id)
        if row is not None and row.user_id == user_id:
            session.delete(row)


def query_of(saved: SavedFilter) -> CaseQuery:
    return CaseQuery.parse(dict(parse_qsl(saved.query)))
