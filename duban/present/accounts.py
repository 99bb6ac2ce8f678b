"""An account event as a person reads it (the user's page, `duban user history`): Chinese words
from labels.toml [account_actions] and [fields], never the record's keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from duban.config.policy import Labels

# What an account_change names, in the order shown, with the [fields] label of each.
_CHANGED = (("role", "role"), ("org", "org_code"), ("display_name", "display_name"))


def change_text(labels: Labels, event: Mapping[str, Any]) -> str:
    """「修改账号：角色 办公室分流员 → 管理员；……（登录已全部失效）」."""
    action, data = event["action"], event.get("data") or {}
    words = labels.of("account_actions", action)
    parts: list[str] = []
    if action == "account_add":
        parts = [f"{labels.fields.get('role', 'role')} {labels.of('roles', data.get('role'))}",
                 f"{labels.fields.get('org_code', 'org')} {data.get('org', '')}"]
        if data.get("display_name"):
            parts.append(f"{labels.fields.get('display_name', 'name')} {data['display_name']}")
    elif action == "account_change":
        for key, field in _CHANGED:
            if key in data:
                before, after = data[key]
                if key == "role":
                    before, after = labels.of("roles", before), labels.of("roles", after)
                parts.append(f"{labels.fields.get(field, field)} {before or '（空）'} → {after or '（空）'}")
    text = f"{words}：{'；'.join(parts)}" if parts else words
    if data.get("sessions_ended"):
        text += labels.text.get("account_sessions_ended", "")
    return text
