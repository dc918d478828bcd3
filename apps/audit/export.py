"""Filtering and exporting events: shared by ``audit export`` and the review API.

Filters are plain strings (from a command line or a query string), so both
paths accept and refuse exactly the same input.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, make_aware

from apps.core.errors import FieldInputError

from .chain import format_time
from .models import AuditEvent, Outcome

FILTERS = ("actor", "action", "cluster", "namespace", "object", "type", "outcome", "since", "until", "request_id")
EXPORT_FIELDS = (
    "seq", "created_at", "actor_user_id", "actor_username", "actor_auth", "actor_token_id", "actor_detail", "ip",
    "user_agent", "request_id", "action", "target_type", "target_cluster", "target_namespace", "target_name",
    "target_id", "before", "after", "outcome", "message", "prev_hash", "hash",
)
FORMATS = ("csv", "jsonl")


class AuditFilterError(FieldInputError):
    code = "invalid_filter"


def _moment(field: str, raw: str, *, end: bool) -> datetime:
    moment = parse_datetime(raw)
    if moment is None:
        day = parse_date(raw)
        if day is None:
            raise AuditFilterError(field, f"{field} must be a date (2026-01-31) or an ISO time "
                                          f"(2026-01-31T12:00:00Z), not {raw!r}.")
        moment = datetime.combine(day, datetime.max.time() if end else datetime.min.time())
    return make_aware(moment) if is_naive(moment) else moment


def apply_filters(qs: QuerySet, filters: dict[str, str]) -> QuerySet:
    """``action`` ending in ``.*`` (or ``auth.``) matches a whole area; times are inclusive."""
    f = {k: (v or "").strip() for k, v in filters.items() if k in FILTERS and (v or "").strip()}
    if "actor" in f:
        qs = qs.filter(actor_username__iexact=f["actor"])
    if "action" in f:
        action = f["action"]
        if action.endswith(".*") or action.endswith("."):
            qs = qs.filter(action__startswith=action.rstrip("*"))
        else:
            qs = qs.filter(action=action)
    if "cluster" in f:
        qs = qs.filter(target_cluster=f["cluster"])
    if "namespace" in f:
        qs = qs.filter(target_namespace=f["namespace"])
    if "object" in f:
        qs = qs.filter(target_name=f["object"])
    if "type" in f:
        qs = qs.filter(target_type=f["type"])
    if "request_id" in f:
        qs = qs.filter(request_id=f["request_id"])
    if "outcome" in f:
        if f["outcome"] not in Outcome.values:
            raise AuditFilterError("outcome", f"outcome must be one of {', '.join(Outcome.values)}.")
        qs = qs.filter(outcome=f["outcome"])
    if "since" in f:
        qs = qs.filter(created_at__gte=_moment("since", f["since"], end=False))
    if "until" in f:
        qs = qs.filter(created_at__lte=_moment("until", f["until"], end=True))
    return qs


def event_row(event: AuditEvent) -> dict:
    row = {name: getattr(event, name) for name in EXPORT_FIELDS if name not in ("before", "after", "created_at")}
    row["created_at"] = format_time(event.created_at)
    row["before"] = event.before
    row["after"] = event.after
    return {name: row[name] for name in EXPORT_FIELDS}


def _csv_line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def export_lines(events: Iterable[AuditEvent], fmt: str) -> Iterator[str]:
    """Lines of a CSV (with header) or JSON-lines export; streams, never loads all."""
    if fmt not in FORMATS:
        raise AuditFilterError("format", f"format must be csv or jsonl, not {fmt!r}.")
    if fmt == "csv":
        yield _csv_line(list(EXPORT_FIELDS))
    for event in events:
        row = event_row(event)
        if fmt == "jsonl":
            yield json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
        else:
            yield _csv_line([
                json.dumps(row[name], sort_keys=True) if name in ("before", "after") and row[name] is not None
                else ("" if row[name] is None else row[name]) for name in EXPORT_FIELDS
            ])
