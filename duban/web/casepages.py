"""Case pages: the searchable list, registration, one case with its action forms, and doing an action.

A form that fails validation comes back with every field's problem in Chinese and what was typed
kept; an action that is no longer allowed or lost a race comes back with the fresh case and the
reason. Nothing is written unless the service accepts the whole action.
"""

from __future__ import annotations

from collections.abc import Collection
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from duban.errors import CaseNotFound, DubanError, InvalidActionInput, OrgNotFound, PermissionDenied
from duban.models import CaseCreate
from duban.present.inputs import CaseIn
from duban.present.problems import Problem, field_message, problem_for
from duban.present.shapes import bulk_out, detail_out
from duban.services import CaseService, bulk
from duban.services.forms import FORMS
from duban.services.queries import CaseFilter
from duban.services.reading import case_detail, list_cases, reply_ratings, scope, still_sees
from duban.services.reviews import stage_of
from duban.services.scope import in_region
from duban.web.forms import action_values, field_errors, page_int, posted_form
from duban.web.pages import web_of
from duban.web.render import Viewer, Web
from duban.web.units import LIST_ID as UNIT_LIST

router = APIRouter(include_in_schema=False)
Posted = Annotated[dict[str, str], Depends(posted_form)]
PAGE = 50
CHOICES = {"state": "states", "disposition": "dispositions", "level": "levels", "warning": "warnings",
           "priority": "priorities"}
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


def list_filter(request: Request, web: Web, viewer: Viewer
                ) -> tuple[CaseFilter, dict[str, Any], dict[str, list[str]], int]:
    """The list's filter from the query string (the page and its downloads share it): the
    filter, what the form shows back, the fields' problems, and the offset asked for."""
    labels = web.ctx.labels
    params = request.query_params
    q: dict[str, Any] = {name: params.get(name) if params.get(name) in getattr(labels, table) else None
                         for name, table in CHOICES.items()}
    q.update(text=(params.get("text") or "").strip()[:100] or None,
             unit=(params.get("unit") or "").strip()[:40],
             overdue=params.get("overdue") == "1", open=params.get("open") == "1",
             unsigned=params.get("unsigned") == "1", return_pending=params.get("return_pending") == "1")
    offset = max(page_int(params, "offset") or 0, 0)
    errors: dict[str, list[str]] = {}
    flt = scope(web.ctx, actor=viewer.actor)
    if q["unit"]:
        unit = web.units.coded(q["unit"])
        if unit is None:
            errors["unit"] = [field_message(labels, field="unit", kind="unknown_org", message="")]
            q["unit"] = ""  # not shown back in the filter either: refusals never repeat input
        flt.unit_id = -1 if unit is None or flt.unit_id not in (None, unit.id) else unit.id
    flt.state, flt.disposition, flt.level = q["state"], q["disposition"], q["level"]
    flt.warning, flt.priority, flt.text = q["warning"], q["priority"], q["text"]
    flt.overdue, flt.open_only = q["overdue"] or None, q["open"]
    flt.unsigned, flt.return_pending = q["unsigned"], q["return_pending"]
    return flt, q, errors, offset


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    flt, q, errors, offset = list_filter(request, web, viewer)
    flt.limit, flt.offset = PAGE + 1, min(offset, 1_000_000)
    rows = list_cases(web.ctx, flt, actor=viewer.actor)

    def link(at: int) -> str:
        kept = {k: ("1" if v is True else v) for k, v in q.items() if v}
        return "/cases?" + urlencode({**kept, "offset": at})

    download = urlencode({k: ("1" if v is True else v) for k, v in q.items() if v})
    return web.render(request, "cases.html", viewer=viewer, rows=rows[:PAGE], q=q, errors=errors,
                      download=download,
                      prev_link=link(max(0, offset - PAGE)) if offset else "",
                      next_link=link(offset + PAGE) if len(rows) > PAGE else "",
                      bulk_actions=_bulk_actions(web, viewer))


# -- bulk actions (duban.services.bulk): the list's ticked cases, one outcome each --------------

BULK_FIELDS = {"remind": ("note",), "reassign": ("unit", "reason"), "assign_callback": ("assignee",)}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _bulk_actions(web: Web, viewer: Viewer) -> list[str]:
    """What the viewer's role may do to ticked cases (policy [roles]); everyone may export."""
    roles = web.ctx.policy.roles
    return [a for a in BULK_FIELDS if viewer.role in roles.get(a, [])] + ["export"]


async def posted_bulk(request: Request) -> tuple[dict[str, str], list[str]]:
    """The bulk form's fields, and every ticked case number (one checkbox per case)."""
    most = request.app.state.ctx.policy.bulk.max_cases
    form = await request.form(max_files=0, max_fields=most + 20)  # parsed once, kept for posted_form
    numbers = [value[:40] for value in form.getlist("numbers") if isinstance(value, str)]
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
                      unit_options=web.units.options(_region(web, viewer)))


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
def register(request: Request, posted: Posted) -> Response:
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
        result = CaseService(web.ctx).register(data, actor=viewer.actor)
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
    found = case_detail(web.ctx, number, actor=viewer.actor, avoided=True)
    avoid = found.pop("avoided_org_ids")
    detail = detail_out(web.ctx.labels, found)
    picks_unit = any(f["type"] == "org" for a in detail["allowed_actions"] for f in a["fields"])
    units = web.units.options(_region(web, viewer), avoid=avoid) if picks_unit else ""
    review = stage_of(web.ctx, SimpleNamespace(**found["case"]), today=web.ctx.today())
    return web.render(request, "case.html", viewer=viewer, d=detail, status=status, flash=flash,
                      problem=problem, open_action=open_action, action_errors=action_errors or {},
                      values=values or {}, unit_options=units, unit_list=UNIT_LIST,
                      ratings=reply_ratings(web.ctx, number, actor=viewer.actor),
                      rating_labels=request.app.state.public.ratings, review=review)


@router.get("/cases/{number}", response_class=HTMLResponse)
def case_page(request: Request, number: str) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    done = request.query_params.get("done", "")
    done = "link_repeat" if done == "linked" else done
    flash = web.ctx.labels.actions.get(done, "")  # base.html says it was done
    return _case_page(request, web, viewer, number[:40], flash=flash)


@router.post("/cases/{number}/actions/{action}")
def act(request: Request, number: str, action: str, posted: Posted) -> Response:
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
        CaseService(web.ctx).act(number, action, actor=viewer.actor, form=values, expected_version=version)
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
