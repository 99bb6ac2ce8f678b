"""Case pages: the searchable list, registration, one case with its action forms, and doing an action.

A form that fails validation comes back with every field's problem in Chinese and what was typed
kept; an action that is no longer allowed or lost a race comes back with the fresh case and the
reason. Nothing is written unless the service accepts the whole action.
"""

from __future__ import annotations

from collections.abc import Collection
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from duban.errors import CaseNotFound, DubanError, InvalidActionInput, OrgNotFound, PermissionDenied
from duban.models import CaseCreate
from duban.present.inputs import CaseIn
from duban.present.problems import Problem, field_message, problem_for
from duban.present.shapes import bulk_out, detail_out, event_out
from duban.services import CaseService, bulk, reading
from duban.services.attachments import Upload, attachment_hint
from duban.services.forms import FORMS
from duban.services.queries import CaseFilter
from duban.services.reading import (
    HISTORY_PAGE,
    SHOWN_HISTORY,
    case_detail,
    case_history,
    scope,
    still_sees,
)
from duban.services.reviews import stage_of
from duban.services.savedfilters import delete_filter, save_filter, saved_filters
from duban.services.scope import in_region
from duban.services.search import CaseQuery, narrow
from duban.shortread import short_read
from duban.web.forms import action_values, field_errors, page_int, posted_form, posted_with_files
from duban.web.pages import count_kept, web_of
from duban.web.render import Viewer, Web
from duban.web.units import LIST_ID as UNIT_LIST

router = APIRouter(include_in_schema=False)
Posted = Annotated[dict[str, str], Depends(posted_form)]
# A form that may carry attachments (registration, reports, 复查/复核, callbacks): fields and files.
PostedFiles = Annotated[tuple[dict[str, str], list[Upload]], Depends(posted_with_files)]
PAGE = 50
OrgOptions = list[tuple[str, list[tuple[str, str, bool]]]]


def org_options(web: Web, viewer: Viewer, *, avoid: Collection[int] = (), offices_only: bool = False
                ) -> OrgOptions:
    """Orgs in the viewer's region, grouped under their office; those to avoid are marked.
    From the org directory held in memory (no query)."""
    orgs = sorted(web.ctx.orgs.all(), key=lambda o: o.code)
    region = _region(web, viewer)
    names = {o.id: o.name for o in orgs if o.kind == "office"}
    groups: dict[str, list[tuple[str, str, bool]]] = {}
    for org in orgs:
        if (region and not in_region(org.code, region)) or (offices_only and org.kind != "office"):
            continue
        group = org.name if org.kind == "office" else names.get(org.parent_id or -1, "")
        groups.setdefault(group, []).append((org.code, org.name, org.id in avoid))
    return list(groups.items())


def _region(web: Web, viewer: Viewer) -> str | None:
    """The org code bounding the viewer's orgs (as `scope.region_of`), from the directory."""
    if viewer.actor.org_id is None:
        return None
    try:
        org = web.ctx.orgs.by_id(viewer.actor.org_id)
    except OrgNotFound:
        return None
    return None if org.level == "province" else org.code


# The list's sortable headers: the column each header sorts by (services/search.SORTS).
SORT_HEADERS = {"编号": "number", "状态": "state", "期限": "deadline", "优先级": "priority"}


# Fields a query string can get malformed (a number that is none, a sort that is not offered):
# the list answers 422 naming them. A name that matches no unit is a finding (200, said).
MALFORMED = frozenset(set(CaseQuery.model_fields) | {"open"}) - {"unit", "subject"}


def list_filter(request: Request, web: Web, viewer: Viewer
                ) -> tuple[CaseFilter, CaseQuery, dict[str, list[str]], int]:
    """The list's filter from the query string (the page and its downloads share it): the
    filter, the query the form shows back, the fields' problems, and the offset asked for. A bad
    value is named and left out (refusals never repeat what was typed); the rest stands."""
    labels = web.ctx.labels
    errors: dict[str, list[str]] = {}
    try:
        query = CaseQuery.parse(request.query_params)
    except InvalidActionInput as exc:
        # A bad value is named and left out (refusals never repeat what was typed); the rest stands.
        errors[exc.field] = [field_message(labels, field=exc.field, kind=exc.kind, message="",
                                           limits=exc.limits, place="query")]
        query = CaseQuery.parse({k: v for k, v in request.query_params.items() if k != exc.field})
    query.per_page = PAGE
    try:
        flt = narrow(scope(web.ctx, actor=viewer.actor), query, web.ctx.orgs)
    except InvalidActionInput as exc:
        errors[exc.field] = [field_message(labels, field=exc.field, kind=exc.kind, message="")]
        setattr(query, exc.field, None)
        flt = narrow(scope(web.ctx, actor=viewer.actor), query, web.ctx.orgs)
        if exc.field == "unit":  # a unit that is none of ours holds no case: the list says so, empty
            flt.extra["unit_ids"] = [-1]
    return flt, query, errors, flt.offset


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    return _case_list(request, web, viewer)


def _case_list(request: Request, web: Web, viewer: Viewer, *, failed: str = "",
               status: int = 200) -> Response:
    flt, query, errors, _ = list_filter(request, web, viewer)
    if status == 200 and set(errors) & MALFORMED:
        status = 422  # a value that is no value of its field (a page number in other digits)
    listed = reading.case_page(web.ctx, flt, actor=viewer.actor)
    pages = max(1, -(-listed.total // PAGE))

    def link(**change: Any) -> str:
        return "/cases?" + urlencode(query.to_params(**change))

    sorts = {}
    for header, column in SORT_HEADERS.items():
        now = query.sort or ""
        ahead = "-" + column if now == column else column
        arrow = "↑" if now == column else "↓" if now == "-" + column else ""
        sorts[header] = (link(sort=ahead, page=1), arrow)
    numbers = sorted({1, pages, *range(max(1, query.page - 3), min(pages, query.page + 3) + 1)})
    return web.render(request, "cases.html", viewer=viewer, rows=listed.rows, q=query, errors=errors,
                      total=listed.total, capped=listed.capped, pages=pages, sorts=sorts,
                      page_links=[(n, link(page=n)) for n in numbers], unit_names=_unit_names(web, viewer),
                      saved=saved_filters(web.ctx, user_id=_user_id(viewer)), failed=failed,
                      filter_query=urlencode(query.to_params()), download=urlencode(query.to_params(page=1)),
                      bulk_actions=_bulk_actions(web, viewer),
                      identity_search=viewer.role in web.ctx.policy.privacy.identity_roles,
                      prev_link=link(page=query.page - 1) if query.page > 1 else "",
                      next_link=link(page=query.page + 1) if query.page < pages else "", status=status)


def _user_id(viewer: Viewer) -> int:
    assert viewer.user.id is not None
    return viewer.user.id


def _unit_names(web: Web, viewer: Viewer) -> list[str]:
    """Names for the unit fields' suggestions: the orgs in the viewer's region (from memory)."""
    region = _region(web, viewer)
    return sorted({o.name for o in web.ctx.orgs.all() if not region or in_region(o.code, region)})


@router.post("/cases/filters")
def save_list_filter(request: Request, posted: Posted) -> Response:
    """Keep the list's current filter under a name (saving a name again updates it)."""
    web = web_of(request)
    viewer = web.require(request)
    if not web.sessions.csrf_ok(viewer.session, posted.get("csrf")):
        raise PermissionDenied(action="save_filter", role=viewer.role, allowed_roles=[viewer.role])
    query = CaseQuery.parse(dict(parse_qsl(posted.get("query", ""))))
    try:
        save_filter(web.ctx, user_id=_user_id(viewer), name=posted.get("name", ""), query=query)
    except InvalidActionInput as exc:
        message = field_message(web.ctx.labels, field="filter_name", kind=exc.kind, message=exc.message,
                                limits=exc.limits)
        request.scope["query_string"] = posted.get("query", "").encode()
        return _case_list(request, web, viewer, failed=message, status=422)
    return RedirectResponse("/cases?" + urlencode(query.to_params()), status_code=303)


@router.post("/cases/filters/{filter_id}/delete")
def delete_list_filter(request: Request, filter_id: int, posted: Posted) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    if not web.sessions.csrf_ok(viewer.session, posted.get("csrf")):
        raise PermissionDenied(action="save_filter", role=viewer.role, allowed_roles=[viewer.role])
    delete_filter(web.ctx, user_id=_user_id(viewer), filter_id=filter_id)
    return RedirectResponse("/cases", status_code=303)


# -- bulk actions (duban.services.bulk): the list's ticked cases, one outcome each --------------

BULK_FIELDS = {"remind": ("note",), "reassign": ("unit", "reason"), "assign_callback": ("assignee",)}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOO_MANY_FIELDS = "Too many fields"  # how Starlette's form parser says it stopped at max_fields


def _bulk_actions(web: Web, viewer: Viewer) -> list[str]:
    """What the viewer's role may do to ticked cases (policy [roles]); everyone may export."""
    roles = web.ctx.policy.roles
    return [a for a in BULK_FIELDS if viewer.role in roles.get(a, [])] + ["export"]


async def posted_bulk(request: Request) -> tuple[dict[str, str], list[str]]:
    """The bulk form's fields, and every ticked case number (one checkbox per case)."""
    most = request.app.state.ctx.policy.bulk.max_cases
    try:  # parsed once, kept for posted_form; more fields than that are more cases than allowed
        form = await request.form(max_files=0, max_fields=most + 20)
    except HTTPException as exc:
        if not str(exc.detail).startswith(TOO_MANY_FIELDS):
            raise
        raise InvalidActionInput(action="bulk", field="numbers", kind="too_many_cases",
                                 message=f"at most {most} cases in one request", limits={"le": most}) from exc
    numbers = [value for value in form.getlist("numbers") if isinstance(value, str)]  # bulk.typed_number
    return await posted_form(request), numbers


@router.post("/cases/bulk")
def bulk_action(request: Request, posted: Annotated[tuple[dict[str, str], list[str]], Depends(posted_bulk)]
                ) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    values, numbers = posted
    if not web.sessions.csrf_ok(viewer.session, values.get("csrf")):
        return web.error_page(request, _csrf_problem(web))
    action = values.get("bulk_action", "")
    labels = web.ctx.labels
    try:
        if action == "export":
            _, data = bulk.export(web.ctx, numbers, actor=viewer.actor)
            return Response(data, media_type=XLSX, headers={
                "Content-Disposition": "attachment; filename=\"cases.xlsx\"; filename*=UTF-8''"
                                       + quote(f"{labels.text['bulk_sheet']}.xlsx")})
        form = {name: values[name] for name in BULK_FIELDS.get(action, ()) if values.get(name, "").strip()}
        if "unit" in form:  # typed as on a case page: a code, a name, or "名称（代码）"
            form["unit"] = web.units.resolve(form["unit"], action=action, region=_region(web, viewer))
        result = bulk.run(web.ctx, action, numbers, actor=viewer.actor, form=form)
    except DubanError as exc:  # the request as a whole: nothing was done
        problem = problem_for(exc, labels)
        return web.render(request, "bulk.html", viewer=viewer, out=None, problem=problem,
                          status=problem.status)
    return web.render(request, "bulk.html", viewer=viewer, out=bulk_out(labels, result))


def _register_page(request: Request, web: Web, viewer: Viewer, *, values: dict[str, str],
                   errors: dict[str, list[str]], problem: Problem | None = None,
                   status: int = 200) -> Response:
    offices = [(code, name) for _, opts in org_options(web, viewer, offices_only=True)
               for code, name, _ in opts]
    return web.render(request, "new_case.html", viewer=viewer, values=values, errors=errors, problem=problem,
                      offices=offices, unit_list=UNIT_LIST, status=status,
                      unit_options=web.units.options(_region(web, viewer)),
                      attach_hint=attachment_hint(web.ctx))


def _registrar(request: Request, web: Web) -> Viewer:
    """The viewer, if their role registers cases; others get a 403 page (and no form to fill in)."""
    viewer = web.require(request)
    roles = web.ctx.policy.roles.get("register", [])
    if viewer.role not in roles:
        raise PermissionDenied(action="register", role=viewer.role, allowed_roles=roles)
    return viewer


@router.get("/cases/new", response_class=HTMLResponse)
def new_case(request: Request) -> Response:
    web = web_of(request)
    viewer = _registrar(request, web)
    return _register_page(request, web, viewer, values={}, errors={})


@router.post("/cases/new")
def register(request: Request, sent: PostedFiles) -> Response:
    posted, files = sent
    web = web_of(request)
    viewer = _registrar(request, web)
    labels = web.ctx.labels
    if not web.sessions.csrf_ok(viewer.session, posted.get("csrf")):
        return web.error_page(request, _csrf_problem(web))
    values: dict[str, Any] = {k: v for k, v in posted.items() if k in CaseIn.model_fields and v.strip()}
    if "subject_org_code" in values:  # typed into the unit picker: a code, a name, or "名称（代码）"
        try:
            values["subject_org_code"] = web.units.resolve(values["subject_org_code"], action="register",
                                                           region=_region(web, viewer),
                                                           field="subject_org_code")
        except InvalidActionInput as exc:  # the field comes back empty: a refusal never repeats input
            return _register_page(request, web, viewer, status=422, errors=_errors_of(web, exc, values),
                                  values={k: v for k, v in posted.items() if k != "subject_org_code"})
    errors = field_errors(labels, CaseIn, values)
    if errors:
        return _register_page(request, web, viewer, values=posted, errors=errors, status=422)
    data = CaseCreate(**CaseIn.model_validate(values).model_dump())
    try:
        result = CaseService(web.ctx).register(data, actor=viewer.actor, files=files)
    except (InvalidActionInput, OrgNotFound) as exc:
        return _register_page(request, web, viewer, values=posted, status=422,
                              errors=_errors_of(web, exc, values))
    except DubanError as exc:
        problem = problem_for(exc, labels)
        return _register_page(request, web, viewer, values=posted, errors={}, problem=problem,
                              status=problem.status)
    done = "linked" if result.linked else "register"
    return RedirectResponse(f"/cases/{result.case.number}?done={done}", status_code=303)


def _errors_of(web: Web, exc: InvalidActionInput | OrgNotFound, values: dict[str, Any]
               ) -> dict[str, list[str]]:
    labels = web.ctx.labels
    if isinstance(exc, OrgNotFound):
        name = next((k for k, v in values.items() if v == exc.ref), "unit")
        return {name: [field_message(labels, field=name, kind="unknown_org", message="")]}
    return {exc.field: [field_message(labels, field=exc.field, kind=exc.kind, message=exc.message,
                                      limits=exc.limits)]}


def _csrf_problem(web: Web) -> Problem:
    return Problem(status=403, code="csrf_failed", message="the form expired; reload the page",
                   message_zh=web.ctx.labels.errors["csrf_failed"])


def _case_page(request: Request, web: Web, viewer: Viewer, number: str, *, status: int = 200,
               flash: str = "", problem: Problem | None = None, open_action: str = "",
               action_errors: dict[str, dict[str, list[str]]] | None = None,
               values: dict[str, str] | None = None) -> Response:
    found = case_detail(web.ctx, number, actor=viewer.actor, avoided=True, history=SHOWN_HISTORY, page=True)
    avoid = found.pop("avoided_org_ids")
    ratings, attachments = found.pop("ratings"), found.pop("attachments")
    detail = detail_out(web.ctx.labels, found)
    picks_unit = any(f["type"] == "org" for a in detail["allowed_actions"] for f in a["fields"])
    units = web.units.options(_region(web, viewer), avoid=avoid) if picks_unit else ""
    review = stage_of(web.ctx, SimpleNamespace(**found["case"]), today=web.ctx.today())
    return web.render(request, "case.html", viewer=viewer, d=detail, status=status, flash=flash,
                      problem=problem, open_action=open_action, action_errors=action_errors or {},
                      values=values or {}, unit_options=units, unit_list=UNIT_LIST,
                      ratings=ratings,
                      rating_labels=request.app.state.public.ratings, review=review,
                      attachments=attachments,
                      attach_actions=web.ctx.policy.attachments.actions, attach_hint=attachment_hint(web.ctx))


@router.get("/cases/{number}", response_class=HTMLResponse)
async def case_page(request: Request, number: str) -> Response:
    """The most read page: one case, on the event loop where the database is local
    (duban.shortread), unless its navigation must count the reader's work queues first."""
    web = web_of(request)
    done = request.query_params.get("done", "")
    done = "link_repeat" if done == "linked" else done
    flash = web.ctx.labels.actions.get(done, "")  # base.html says it was done

    def page() -> Response:
        return _case_page(request, web, web.require(request), number[:40], flash=flash)

    return await (short_read(web.ctx, page) if count_kept(web, request) else run_in_threadpool(page))


# A case's whole timeline or all its reports (reading.BOUNDED), page by page (its page shows the
# newest).
_LAST_PAGE = 10_000  # a larger page number is read as this one: the offset stays bounded


@router.get("/cases/{number}/history/{kind}", response_class=HTMLResponse)
def history_page(request: Request, number: str, kind: str) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    number = number[:40]
    if kind not in reading.BOUNDED:
        raise CaseNotFound(number)
    page = min(max(page_int(request.query_params, "page") or 1, 1), _LAST_PAGE)
    items, total = case_history(web.ctx, number, kind, actor=viewer.actor, limit=HISTORY_PAGE,
                                offset=(page - 1) * HISTORY_PAGE)
    if kind == "timeline":
        items = [event_out(web.ctx.labels, e) for e in items]
    return web.render(request, "case_history.html", viewer=viewer, number=number, kind=kind,
                      items=items, total=total, page=page, pages=max(1, -(-total // HISTORY_PAGE)))


@router.post("/cases/{number}/actions/{action}")
def act(request: Request, number: str, action: str, sent: PostedFiles) -> Response:
    posted, files = sent
    web = web_of(request)
    viewer = web.require(request)
    number = number[:40]
    if not web.sessions.csrf_ok(viewer.session, posted.get("csrf")):
        return web.error_page(request, _csrf_problem(web))
    if action not in FORMS:
        raise CaseNotFound(number)
    values = action_values(action, posted)
    version = page_int(posted, "version")

    def again(status: int, *, shown: dict[str, str] = posted, **kw: Any) -> Response:
        return _case_page(request, web, viewer, number, status=status, open_action=action,
                          values=shown, **kw)

    if "unit" in values:  # typed into the unit picker: a code, a name, or "名称（代码）"
        try:
            values["unit"] = web.units.resolve(values["unit"], action=action, region=_region(web, viewer))
        except InvalidActionInput as exc:  # the field comes back empty: a refusal never repeats input
            return again(422, action_errors={action: _errors_of(web, exc, values)},
                         shown={k: v for k, v in posted.items() if k != "unit"})
    errors = field_errors(web.ctx.labels, FORMS[action], values)
    if errors:
        return again(422, action_errors={action: errors})
    try:
        CaseService(web.ctx).act(number, action, actor=viewer.actor, form=values, expected_version=version,
                                 files=files)
    except CaseNotFound:
        raise
    except (InvalidActionInput, OrgNotFound) as exc:
        return again(422, action_errors={action: _errors_of(web, exc, values)})
    except DubanError as exc:
        problem = problem_for(exc, web.ctx.labels)
        return again(problem.status, problem=problem)
    web.forget_inbox_count(viewer)
    # An action that takes the case out of the actor's sight lands on the inbox, not on a 404.
    target = f"/cases/{number}" if still_sees(web.ctx, number, actor=viewer.actor) else "/inbox"
    return RedirectResponse(f"{target}?done={action}", status_code=303)
