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

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["choices"] = [list(c) for c in self.choices] if self.choices is not None else None
        return out


# Fields whose value is one key of a label table (the commission's outcome: policy [referral.outcomes]).
_CHOICES = {"outcome": "referral_outcomes"}


def form_fields(labels: Labels, action: str) -> list[FieldSpec]:
    """The fields of an action's form, from its pydantic model."""
    out = []
    for name, info in FORMS[action].model_fields.items():
        bounds = {key: getattr(item, key) for item in info.metadata
                  for kind, key in _BOUNDS.items() if isinstance(item, kind)}
        choices = None
        if name == "unit":
            kind = "org"
        elif name == "department":  # 二次交办: one of the case's delegate_choices
            kind = "department"
        elif name in _CHOICES:
            kind = "choice"
            table = getattr(labels, _CHOICES[name])
            choices = [(key, label) for key, label in table.items()]
        elif info.annotation is bool:
            kind = "boolean"
        elif info.annotation is int:
            kind = "integer"
        else:
            kind = "textarea" if bounds.get("max_length", 0) > _LONG_TEXT else "text"
        required = info.is_required() or bounds.get("min_length", 0) > 0
        out.append(FieldSpec(name=name, label=labels.fields.get(name, name), type=kind, required=required,
                             max_length=bounds.get("max_length"), minimum=bounds.get("ge"),
                             maximum=bounds.get("le"), choices=choices))
    return out


def action_out(labels: Labels, action: str) -> dict[str, Any]:
    return {"action": action, "label": labels.of("actions", action),
            "fields": [f.as_dict() for f in form_fields(labels, action)]}


def row_out(labels: Labels, row: CaseRow | dict[str, Any]) -> dict[str, Any]:
    data = row.as_dict() if isinstance(row, CaseRow) else dict(row)
    data["state_label"] = labels.of("states", data["state"])
    data["disposition_label"] = labels.of("dispositions", data["disposition"])
    data["priority_label"] = labels.of("priorities", data["priority"])
    data["warning_label"] = labels.of("warnings", data["warning"])
    return data


def event_out(labels: Labels, event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "action_label": labels.of("actions", event["action"])}


def case_links(number: str) -> dict[str, str]:
    base = f"/api/cases/{quote(number)}"
    return {"timeline": f"{base}/timeline", "reports": f"{base}/reports"}


def detail_out(labels: Labels, detail: dict[str, Any]) -> dict[str, Any]:
    out = dict(detail)
    out["row"] = row_out(labels, detail["row"])
    out["timeline"] = [event_out(labels, e) for e in detail["timeline"]]
    out["allowed_actions"] = [action_out(labels, a) for a in detail["allowed_actions"]]
    out["links"] = case_links(detail["case"]["number"])
    return out


def acted_out(labels: Labels, summary: dict[str, Any]) -> dict[str, Any]:
    """An action's answer (schemas.ActedOut) from `reading.case_summary`."""
    case = summary["case"]
    return {
        "visible": True,
        "case": {**case, "state_label": labels.of("states", case["state"]),
                 "disposition_label": labels.of("dispositions", case["disposition"]),
                 "priority_label": labels.of("priorities", case["priority"]),
                 "warning_label": labels.of("warnings", case["warning"])},
        "office": summary["office"],
        "unit": summary["unit"],
        "allowed_actions": [action_out(labels, a) for a in summary["allowed_actions"]],
        "href": f"/api/cases/{quote(case['number'])}",
    }


def org_out(org: Org, parent_code: str | None) -> dict[str, Any]:
    return {"code": org.code, "name": org.name, "level": org.level, "kind": org.kind,
            "region_name": org.region_name, "parent_code": parent_code}


def user_out(ctx: ServiceContext, user: User, org: Org) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "role_label": ctx.labels.of("roles", user.role),
            "org": {"code": org.code, "name": org.name, "level": org.level}}
