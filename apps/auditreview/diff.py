"""Before/after of an event as rows a person can read. Pure."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DiffRow:
    key: str
    before: str
    after: str
    change: str  # added, removed, changed, same


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def diff_rows(before: dict | None, after: dict | None) -> list[DiffRow]:
    """One row per top-level key, in key order; nested values shown as JSON."""
    before, after = before or {}, after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [DiffRow("value", _show(before), _show(after), "changed" if before != after else "same")]
    rows = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            change = "added"
        elif key not in after:
            change = "removed"
        else:
            change = "same" if before[key] == after[key] else "changed"
        rows.append(DiffRow(key, _show(before.get(key)), _show(after.get(key)), change))
    return rows
