"""`duban case`: enough for an office to run on the command line.

Every command reads through duban.services.reading as the actor `--as` names. Without `--as`, a
command acts as a dispatcher without an org: the province office's, which the privacy policy lets
see identity (whoever runs the CLI holds the database file already). `--as unit:CODE`,
`--as leader` and the like read exactly what that role reads on the web: the redacted texts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from duban.cli.common import AS_HELP, actor_from, console, context, printed, received_time, reported_errors
from duban.cli.common import table as common_table
from duban.cli.usage import refuse
from duban.clock import shanghai
from duban.errors import InvalidActionInput
from duban.files import write_private
from duban.models import CaseCreate
from duban.present.problems import field_message
from duban.services import CaseService
from duban.services.attachments import Upload, download, list_attachments
from duban.services.reading import case_detail, case_page, scope
from duban.services.search import CaseQuery, narrow

app = typer.Typer(no_args_is_help=True, help="Register, list, show and act on cases.")

WARNING_STYLE = {"red": "bold red", "yellow": "yellow", "blue": "blue", "none": ""}


@app.command("create")
def create(
    office: str = typer.Option(..., help="receiving office code, e.g. GS or GS-LZ"),
    title: str = typer.Option(...),
    summary: str = typer.Option(""),
    category: str = typer.Option("other"),
    channel: str = typer.Option("phone"),
    priority: str = typer.Option("normal", help="normal, enterprise (涉企) or livelihood (民生急难)"),
    complainant: str = typer.Option("", help="complainant's name (kept confidential)"),
    phone: str = typer.Option(""),
    email: str = typer.Option("", help="complainant's e-mail, for notices (kept confidential)"),
    real_name: bool = typer.Option(False, "--real-name"),
    consent: bool = typer.Option(False, "--consent", help="complainant agrees the unit may see them"),
    subject: str = typer.Option("", help="who or what is complained about"),
    subject_org: str | None = typer.Option(None, help="org code of the subject, if it is a unit"),
    repeat_of: str | None = typer.Option(None, help="case number this complaint repeats"),
    received: str | None = typer.Option(None, help="when received, Asia/Shanghai (default now)"),
    as_: str = typer.Option("clerk", "--as", help=AS_HELP),
) -> None:
    """Register a complaint (a repeat of an open case is linked to it instead)."""
    received_at = received_time(received) if received else None  # a usage error before the database
    ctx = context()
    with reported_errors():
        data = CaseCreate(
            office_code=office, title=title, summary=summary, category=category, channel=channel,
            priority=priority, complainant_name=complainant, complainant_phone=phone,
            complainant_email=email,
            complainant_real_name=real_name, complainant_consent=consent, subject_name=subject,
            subject_org_code=subject_org, repeat_of=repeat_of,
            received_at=received_at,
        )
        result = CaseService(ctx).register(data, actor=actor_from(ctx, as_))
    case, said = result.case, ctx.labels.cli
    if result.linked:
        console.print(said["case_linked"].format(number=case.number, n=case.repeat_count))
    else:
        console.print(said["case_registered"].format(number=case.number, due=case.deadline_on))


@app.command("list")
def list_(
    text: str | None = typer.Option(None, help="keyword: number, title, summary, reports, notes"),
    state: str | None = None,
    disposition: str | None = None,
    level: str | None = None,
    warning: str | None = typer.Option(None, help="none, blue, yellow or red"),
    priority: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    received_from: str | None = typer.Option(None, help="received on or after (YYYY-MM-DD)"),
    received_to: str | None = typer.Option(None, help="received on or before (YYYY-MM-DD)"),
    unit: str | None = typer.Option(None, help="handling unit: name or org code"),
    subject: str | None = typer.Option(None, help="complained-about unit: name"),
    overdue: bool = typer.Option(False, "--overdue"),
    open_only: bool = typer.Option(False, "--open"),
    sort: str | None = typer.Option(None, help="number, received, deadline, state, priority (-: descending)"),
    page: int = typer.Option(1, min=1),
    limit: int = typer.Option(50, min=1, max=500),
    as_: str = typer.Option("dispatcher", "--as", help=AS_HELP),
) -> None:
    """List cases, most urgent first (or sorted), with deadline and warning colour, and the total."""
    ctx = context()
    labels = ctx.labels
    given = {"text": text, "state": state, "disposition": disposition, "level": level, "warning": warning,
             "priority": priority, "category": category, "channel": channel, "received_from": received_from,
             "received_to": received_to, "unit": unit, "subject": subject, "overdue": overdue,
             "open": open_only, "sort": sort, "page": page, "per_page": limit}
    with reported_errors():
        actor = actor_from(ctx, as_)
        query = _query(given, labels)
        listed = case_page(ctx, narrow(scope(ctx, actor=actor), query, ctx.orgs), actor=actor)
    rows = listed.rows
    table = Table()
    for i, name in enumerate(labels.columns.get("case_list", [])):
        table.add_column(name, no_wrap=i in (0, 2, 5), overflow="fold")  # 编号, 状态, 期限
    for r in rows:
        deadline = f"{r.deadline_on}{'*' if r.provisional else ''}" if r.deadline_on else ""
        table.add_row(r.number, r.title[:24], labels.of("states", r.state),
                      labels.of("dispositions", r.disposition), r.unit or "", deadline,
                      Text(labels.of("warnings", r.warning), style=WARNING_STYLE[r.warning])
                      if r.warning != "none" else "", labels.of("priorities", r.priority))
    console.print(table)
    note = labels.cli["provisional_mark"] if any(r.provisional for r in rows) else ""
    total = f"{listed.total}{'+' if listed.capped else ''}"
    console.print(labels.cli["list_total"].format(total=total, page=page) + note)


def _query(given: dict[str, Any], labels: Any) -> CaseQuery:
    """The list's query from the options, or a usage error naming the option in Chinese (关键词不能超过
    100个字), as the list page and the API name it."""
    try:
        return CaseQuery.parse(given)
    except InvalidActionInput as exc:
        option = {"per_page": "limit", "open_only": "open"}.get(exc.field, exc.field).replace("_", "-")
        refuse("option_said", f"--{option}", message=field_message(
            labels, field=exc.field, kind=exc.kind, message="", limits=exc.limits, place="query"))


@app.command("show")
def show(number: str, as_: str = typer.Option("dispatcher", "--as", help=AS_HELP)) -> None:
    """Show one case: facts, people, deadline, whole timeline, and the actions allowed now."""
    ctx = context()
    labels = ctx.labels
    with reported_errors():
        d = case_detail(ctx, number, actor=actor_from(ctx, as_))
    case, row = d["case"], d["row"]
    console.print(Text.assemble((case["number"], "bold"), "  ", case["title"]))
    console.print(printed("case.facts", state=labels.of("states", case["state"]),
                          disposition=labels.of("dispositions", case["disposition"]),
                          priority=labels.of("priorities", case["priority"]), office=d["office"]["name"],
                          unit=d["unit"]["name"] if d["unit"] else "—"))
    if row["deadline_on"]:
        console.print(printed("case.deadline", kind=labels.of("deadline_kinds", row["deadline_kind"]),
                              due=row["deadline_on"], left=row["workdays_left"],
                              provisional=labels.text["provisional"] if row["provisional"] else "",
                              warning=labels.of("warnings", row["warning"])))
    subject = d["subject"] or {}
    flag = labels.text.get(f"subject_{subject.get('resolution')}", "") if subject.get("resolution") else ""
    console.print(printed("case.people", name=d["complainant"]["name"], phone=d["complainant"]["phone"],
                          subject=subject.get("name") or "—", flag=flag, returns=case["return_count"],
                          repeats=case["repeat_count"]))
    if case["summary"]:
        console.print(case["summary"])
    if case.get("extension_days"):
        console.print(printed("case.extended",
                              amount=labels.amount(case["extension_days"], case.get("extension_unit"))))
    if case.get("decline_reason"):
        why = labels.of("decline_reasons", case["decline_reason"])
        console.print(f"{labels.text['declined_because']}：{why}")
    table = common_table("timeline")
    for e in d["timeline"]:
        table.add_row(str(e["seq"]), shanghai(e["at"]).strftime("%Y-%m-%d %H:%M"),
                      labels.of("actions", e["action"]), labels.of("states", e["from_state"]),
                      labels.of("states", e["to_state"]),
                      f"{e['actor']}({labels.of('roles', e['actor_role'])})",
                      e["reason"][:40])
    console.print(table)
    allowed = "、".join(f"{labels.of('actions', a)}({a})" for a in d["allowed_actions"]) or "—"
    console.print(labels.cli["allowed_now"].format(allowed=allowed))


@app.command("act")
def act(
    number: str,
    action: str,
    unit: str | None = typer.Option(None, help="org code (dispatch, reassign, refer)"),
    reason: str | None = typer.Option(None, help="why (step_up, reassign, request_extension…); close: "
                                                 "a close reason code of policy \\[callbacks]"),
    reasons: str | None = typer.Option(None, help="why a report is sent back"),
    text: str | None = typer.Option(None, help="report text; record_result: what the commission says"),
    finding: str | None = typer.Option(None, help="a final report's 是否属实: true, partly_true, untrue"),
    actions_taken: str | None = typer.Option(None, help="a final report's 办理措施 (what was done)"),
    rectification: str | None = typer.Option(None, help="a final report's 整改措施"),
    accountability: str | None = typer.Option(None, help="a final report's 问责情况"),
    note: str | None = typer.Option(None),
    days: int | None = typer.Option(None, help="extension amount in policy \\[extension] unit (working "
                                                "days by default); approve_extension: the part granted"),
    decline_reason: str | None = typer.Option(None,
                                              help="不予受理 reason (policy \\[intake.decline_reasons])"),
    method: str | None = typer.Option(None, help="record_callback: how the complainant was reached: phone, "
                                                 "sms, visit"),
    result: str | None = typer.Option(None, help="record_callback: satisfied, basically_satisfied, "
                                                 "unsatisfied, unreachable"),
    outcome: str | None = typer.Option(None, help="record_result: the commission's outcome (policy "
                                                  "\\[referral.outcomes])"),
    opinion: str | None = typer.Option(None, help="decide_reexamination, decide_recheck: the opinion "
                                                  "(policy \\[reviews.outcomes])"),
    reply: str | None = typer.Option(None, help="decide_reexamination, decide_recheck: the written answer"),
    department: str | None = typer.Option(None, help="delegate: org code of the department"),
    handling_continues: bool = typer.Option(False, "--handling-continues",
                                            help="refer: the unit goes on handling the case beside the "
                                                 "referral"),
    version: int | None = typer.Option(None, help="refuse if the case changed since this version"),
    attach: list[Path] = typer.Option([], help="a file to attach (repeatable; policy \\[attachments])"),
    as_: str = typer.Option("dispatcher", "--as", help=AS_HELP),
    user: str | None = typer.Option(None, help="name recorded in the audit trail"),
) -> None:
    """Perform ACTION on a case (see `duban case show` for the actions allowed now)."""
    ctx = context()
    form: dict[str, Any] = {k: v for k, v in dict(
        unit=unit, reason=reason, reasons=reasons, text=text, finding=finding, actions_taken=actions_taken,
        rectification=rectification, accountability=accountability, note=note, days=days,
        decline_reason=decline_reason, method=method, result=result, outcome=outcome, opinion=opinion,
        reply=reply, department=department, handling_continues=handling_continues or None,
    ).items() if v is not None}
    with reported_errors():
        files = [Upload(path.name, path.read_bytes()) for path in attach]
        case = CaseService(ctx).act(number, action, actor=actor_from(ctx, as_, user), form=form,
                                    expected_version=version, files=files)
    labels = ctx.labels
    console.print(f"{case.number}: {labels.of('actions', action)} → {labels.of('states', case.state)}"
                  + (printed("case.due", due=case.deadline_on) if case.deadline_on else ""))


@app.command("bulk")
def bulk_(
    action: str = typer.Argument(..., help="remind (催办), reassign (改派), assign_callback (分派回访) "
                                           "or export (导出, with --out)"),
    numbers: list[str] = typer.Argument(..., help="case numbers (at most policy \\[bulk] max_cases)"),
    unit: str | None = typer.Option(None, help="reassign: org code of the new unit"),
    reason: str | None = typer.Option(None, help="reassign: why"),
    note: str | None = typer.Option(None, help="remind: what the unit is told"),
    assignee: str | None = typer.Option(None, help="assign_callback: the callback officer's user name"),
    out: Path | None = typer.Option(None, "--out", help="export: write the .xlsx here"),
    force: bool = typer.Option(False, "--force", help="export: replace --out if it exists"),
    as_: str = typer.Option("dispatcher", "--as", help=AS_HELP),
    user: str | None = typer.Option(None, help="name recorded in the audit trail"),
) -> None:
    """Perform ACTION on each case, each its own audited action, and print every case's outcome."""
    from duban.files import database_files, write_private
    from duban.present.shapes import bulk_out
    from duban.services import bulk

    ctx = context()
    with reported_errors():
        actor = actor_from(ctx, as_, user)
        if action == "export":
            if out is None:
                refuse("export_needs_out", "--out")
            result, data = bulk.export(ctx, numbers, actor=actor)
            write_private(out, lambda tmp: tmp.write_bytes(data), force=force,
                          protected=database_files(ctx.engine))
        else:
            form = {k: v for k, v in dict(unit=unit, reason=reason, note=note, assignee=assignee).items()
                    if v is not None}
            result = bulk.run(ctx, action, numbers, actor=actor, form=form)
    shown = bulk_out(ctx.labels, result)
    table = common_table("bulk_outcomes")
    for o in shown["outcomes"]:
        table.add_row(o["number"], o["status_label"], o["state_label"], o["message_zh"] or "")
    console.print(table)
    counts = shown["counts"]
    console.print(f"{shown['action_label']}: " + "  ".join(
        f"{ctx.labels.text[f'bulk_{status}']} {n}" for status, n in counts.items()) +
        (f"  → {out}" if action == "export" and out else ""))
    if counts["refused"] or counts["not_found"]:
        raise typer.Exit(1)


@app.command("files")
def files_(number: str, as_: str = typer.Option("dispatcher", "--as", help=AS_HELP)) -> None:
    """List a case's attachments as `--as` may see them."""
    ctx = context()
    with reported_errors():
        rows = list_attachments(ctx, number, actor=actor_from(ctx, as_, None))
    table = common_table("attachments")
    for row in rows:
        table.add_row(str(row["id"]), ctx.labels.text.get(f"attachment_kind_{row['kind']}", row["kind"]),
                      row["name"], row["media_type"], str(row["size"]), row["sha256"][:16])
    console.print(table)


@app.command("file")
def file_(number: str, attachment_id: int, out: Path = typer.Option(..., help="where to write it (0600)"),
          force: bool = typer.Option(False, help="replace an existing file"),
          as_: str = typer.Option("dispatcher", "--as", help=AS_HELP)) -> None:
    """Write one attachment to OUT, checked against its hash."""
    ctx = context()
    with reported_errors():
        got = download(ctx, number, attachment_id, actor=actor_from(ctx, as_, None))
        write_private(out, lambda tmp: tmp.write_bytes(got.content), force=force)
    console.print(f"{got.filename} → {out}")
