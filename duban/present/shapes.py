"""Service results shaped for people: labels beside codes, action forms described field by field.

Shared by the JSON API and the pages, so both show the same thing. Action forms are derived from
the pydantic models in `services/forms.py`, which stay the only definition of what a form holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import annotated_types as at

from duban.config.policy import Labels
from duban.models import Org, User
from duban.present.problems import problem_for
from duban.services.context import ServiceContext
from duban.services.forms import FORMS
from duban.services.queries import CaseRow

# Text longer than a line gets a text area.
_LONG_TEXT = 200
_BOUNDS = {at.MinLen: "min_length", at.MaxLen: "max_length", at.Ge: "ge", at.Le: "le"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: str  # text | textarea | integer | org | department | boolean | choice
    required: bool
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: list[tuple[str, str]] | None = None  # (key, label) of a choice
    unit: str | None = None  # an amount of time (延期): workdays | days, policy [extension] unit

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["choices"] = [list(c) for c in self.choices] if self.choices is not None else None
        return out


# Fields whose value is one key of a label table (the commission's outcome: policy [referral.outcomes];
# a callback's method and result; the 不予受理 reason; a final report's 是否属实; a review's
# opinion), by name, or by action and name where a name means more.
_CHOICES = {"outcome": "referral_outcomes", "method": "callback_methods", "result": "callback_results",
            "decline_reason": "decline_reasons", "finding": "findings", "opinion": "review_outcomes"}
_ACTION_CHOICES = {("close", "reason"): "close_reasons"}
# Fields that are an amount of time, in the unit the policy names (policy [extension] unit).
_AMOUNTS = ("days",)


def _policy_required(action: str) -> frozenset[str]:
    """Fields a form leaves optional that the policy requires (a final report's parts)."""
    if action != "submit_report":
        return frozenset()
    from duban.config.policy import get_policy

    return frozenset(get_policy().handling_report.required)


def form_fields(labels: Labels, action: str, *, unit: str | None = None) -> list[FieldSpec]:
    """The fields of an action's form, from its pydantic model. `unit`: the unit of an amount
    field (延期), named in its label ("延期时长（工作日）")."""
    out = []
    by_policy = _policy_required(action)
    for name, info in FORMS[action].model_fields.items():
        bounds = {key: getattr(item, key) for item in info.metadata
                  for kind, key in _BOUNDS.items() if isinstance(item, kind)}
        choices = None
        if name == "unit":
            kind = "org"
        elif name == "department":  # 二次交办: one of the case's delegate_choices
            kind = "department"
        elif name in _CHOICES or (action, name) in _ACTION_CHOICES:
            kind = "choice"
            table = getattr(labels, _ACTION_CHOICES.get((action, name)) or _CHOICES[name])
            choices = [(key, label) for key, label in table.items()]
        elif info.annotation is bool:
            kind = "boolean"
        elif info.annotation in (int, int | None):
            kind = "integer"
        else:
            kind = "textarea" if bounds.get("max_length", 0) > _LONG_TEXT else "text"
        required = info.is_required() or bounds.get("min_length", 0) > 0 or name in by_policy
        label = labels.fields.get(name, name)
        amount_unit = unit if name in _AMOUNTS and unit else None
        if amount_unit:
            label = f"{label}（{labels.text.get(f'unit_{amount_unit}', amount_unit)}）"
        out.append(FieldSpec(name=name, label=label, type=kind, required=required,
                             max_length=bounds.get("max_length"), minimum=bounds.get("ge"),
                             maximum=bounds.get("le"), choices=choices, unit=amount_unit))
    return out


# Each action's description, built once per labels, policy and unit: an action's answer and a
# case's carry one for every action allowed next, and walking the forms' pydantic fields for each
# cost more than the rest of the answer's shaping. Kept with the labels and policy they were made
# from (checked by identity), a few combinations at most.
_ACTIONS_OUT: dict[tuple[int, int, str, str | None], tuple[Labels, Any, dict[str, Any]]] = {}


def action_out(labels: Labels, action: str, *, unit: str | None = None) -> dict[str, Any]:
    from duban.config.policy import get_policy

    policy = get_policy()
    key = (id(labels), id(policy), action, unit)
    kept = _ACTIONS_OUT.get(key)
    if kept is None or kept[0] is not labels or kept[1] is not policy:
        if len(_ACTIONS_OUT) > 512:
            _ACTIONS_OUT.clear()
        built: dict[str, Any] = {"action": action, "label": labels.of("actions", action),
                                 "fields": [f.as_dict() for f in form_fields(labels, action, unit=unit)]}
        kept = _ACTIONS_OUT[key] = (labels, policy, built)
    made = kept[2]
    return {**made, "fields": [dict(f) for f in made["fields"]]}


def amounts_out(labels: Labels, facts: dict[str, Any]) -> dict[str, Any]:
    """A case's facts with what a person reads beside the codes: the extension with its unit
    ("3个工作日") and the 不予受理 reason."""
    out = dict(facts)
    if "extension_days" in out:
        out["extension_label"] = (labels.amount(out["extension_days"], out.get("extension_unit"))
                                  if out["extension_days"] else "")
    if "decline_reason" in out:
        out["decline_reason_label"] = labels.of("decline_reasons", out["decline_reason"])
    return out


def extension_out(labels: Labels, ext: dict[str, Any]) -> dict[str, Any]:
    """An extension request with its amounts as a person reads them ("5个工作日")."""
    unit = ext.get("unit") or "days"
    granted = ext.get("granted_days")
    return {**ext, "unit": unit, "amount_label": labels.amount(ext["days"], unit),
            "granted_label": labels.amount(granted, unit) if granted is not None else ""}


def decline_out(labels: Labels, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "reason_label": labels.of("decline_reasons", row["reason"])}


def row_out(labels: Labels, row: CaseRow | dict[str, Any]) -> dict[str, Any]:
    data = row.as_dict() if isinstance(row, CaseRow) else dict(row)
    data["state_label"] = labels.of("states", data["state"])
    data["disposition_label"] = labels.of("dispositions", data["disposition"])
    data["priority_label"] = labels.of("priorities", data["priority"])
    data["warning_label"] = labels.of("warnings", data["warning"])
    data["decline_reason_label"] = labels.of("decline_reasons", data.get("decline_reason"))
    return data


def event_out(labels: Labels, event: dict[str, Any]) -> dict[str, Any]:
    label = labels.of("actions", event["action"])
    data = event.get("data") or {}
    if event["action"] == "record_callback" and data.get("result"):
        # The timeline says how the complainant was reached and what they said.
        label += f"（{labels.of('callback_methods', data.get('method'))}·" \
                 f"{labels.of('callback_results', data['result'])}）"
    elif data.get("close_reason"):
        label += f"（{labels.of('close_reasons', data['close_reason'])}）"
    return {**event, "action_label": label}


def case_links(number: str) -> dict[str, str]:
    base = f"/api/cases/{quote(number)}"
    return {"timeline": f"{base}/timeline", "reports": f"{base}/reports"}


def detail_out(labels: Labels, detail: dict[str, Any]) -> dict[str, Any]:
    out = dict(detail)
    out["row"] = row_out(labels, detail["row"])
    out["timeline"] = [event_out(labels, e) for e in detail["timeline"]]
    out["case"] = amounts_out(labels, detail["case"])
    out["extensions"] = [extension_out(labels, e) for e in detail["extensions"]]
    out["declines"] = [decline_out(labels, d) for d in detail.get("declines", [])]
    unit = detail.get("extension_unit")
    out["allowed_actions"] = [action_out(labels, a, unit=unit) for a in detail["allowed_actions"]]
    out["callbacks"] = [{**cb, "method_label": labels.of("callback_methods", cb.get("method")),
                         "result_label": labels.of("callback_results", cb["result"])}
                        for cb in detail.get("callbacks", [])]
    out["links"] = case_links(detail["case"]["number"])
    return out


def acted_out(labels: Labels, summary: dict[str, Any]) -> dict[str, Any]:
    """An action's answer (schemas.ActedOut) from `reading.case_summary`."""
    case = summary["case"]
    return {
        "visible": True,
        "case": {**amounts_out(labels, case), "state_label": labels.of("states", case["state"]),
                 "disposition_label": labels.of("dispositions", case["disposition"]),
                 "priority_label": labels.of("priorities", case["priority"]),
                 "warning_label": labels.of("warnings", case["warning"])},
        "office": summary["office"],
        "unit": summary["unit"],
        "allowed_actions": [action_out(labels, a, unit=summary.get("extension_unit"))
                            for a in summary["allowed_actions"]],
        "href": f"/api/cases/{quote(case['number'])}",
    }


def org_out(org: Org, parent_code: str | None) -> dict[str, Any]:
    return {"code": org.code, "name": org.name, "level": org.level, "kind": org.kind,
            "region_name": org.region_name, "parent_code": parent_code}


def user_out(ctx: ServiceContext, user: User, org: Org) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "role_label": ctx.labels.of("roles", user.role),
            "org": {"code": org.code, "name": org.name, "level": org.level}}


BULK_NOTES = {"avoidance": "the case complains about that unit: the office above it has the case (回避)"}


def bulk_out(labels: Labels, result: Any) -> dict[str, Any]:
    """A bulk action's answer (duban.services.bulk.BulkResult): counts, then one outcome per case
    number with its label and, when refused or not found, the named error in both languages."""
    outcomes = []
    for o in result.outcomes:
        item: dict[str, Any] = {"number": o.number, "status": o.status,
                                "status_label": labels.text.get(f"bulk_{o.status}", o.status),
                                "state": o.state, "state_label": labels.of("states", o.state),
                                "code": None, "message": None, "message_zh": None}
        if o.error is not None:
            problem = problem_for(o.error, labels)
            item.update(code=problem.code, message=problem.message, message_zh=problem.message_zh)
        elif o.skipped:
            days = labels.amount(result.remind_days, "days")
            item.update(code=o.skipped, message="done already; nothing done again",
                        message_zh=labels.errors.get(o.skipped, o.skipped).format(days=days))
        elif o.note:  # done, not as asked (avoidance: the office above has it, not the unit named)
            item.update(code=o.note, message=BULK_NOTES.get(o.note, o.note),
                        message_zh=labels.text.get(o.note, o.note))
        outcomes.append(item)
    return {"action": result.action, "action_label": labels.of("actions", result.action),
            "counts": result.counts(), "outcomes": outcomes}
