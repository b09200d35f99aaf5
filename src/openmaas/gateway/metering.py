"""Usage records, one per API call, and their totals by day, model and key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from openmaas.db.models import UsageRecord
from openmaas.errors import InvalidRequest

GROUPS = ("day", "model", "key")  # also the order of the result rows
_FIELDS = {"day": "day", "model": "model", "key": "key_id"}


class utc_day(FunctionElement[str]):
    """The UTC calendar day of a timestamp, as 'YYYY-MM-DD'."""

    type = String()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite holds the timestamp as UTC text ('YYYY-MM-DD HH:MM:SS...').
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # Literal text, not bound parameters, so GROUP BY matches the selected expression.
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def record_usage(
    session: Session,
    *,
    workspace_id: str,
    key_id: str | None,
    model_id: str | None,
    endpoint: str,
    prompt_tokens: int,
    completion_tokens: int,
    ttft_ms: float | None,
    latency_ms: float,
    status_code: int,
) -> UsageRecord:
    record = UsageRecord(
        workspace_id=workspace_id,
        key_id=key_id,
        model_id=model_id,
        endpoint=endpoint,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        ttft_ms=ttft_ms,
        latency_ms=latency_ms,
        status_code=status_code,
    )
    session.add(record)
    session.flush()
    return record


def aggregate_usage(
    session: Session,
    workspace_id: str | None,
    start: datetime | None,
    end: datetime | None,
    group_by: Sequence[str],
) -> list[dict]:
    """Totals over [start, end) for the caller's workspace (all workspaces when None), one row per group."""
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise InvalidRequest(
            f"Cannot group usage by {unknown[0]!r}; choose from {', '.join(GROUPS)}.", param="group_by"
        )
    group_columns = {
        "day": utc_day(UsageRecord.created_at),
        "model": UsageRecord.model_id,
        "key": UsageRecord.key_id,
    }
    groups = [group_columns[g].label(_FIELDS[g]) for g in GROUPS if g in group_by]
    query = select(
        *groups,
        func.count().label("requests"),
        func.coalesce(func.sum(UsageRecord.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(UsageRecord.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(case((UsageRecord.status_code >= 400, 1), else_=0)), 0).label("errors"),
        func.avg(UsageRecord.latency_ms).label("avg_latency_ms"),
        func.avg(UsageRecord.ttft_ms).label("avg_ttft_ms"),
    )
    if workspace_id is not None:
        query = query.where(UsageRecord.workspace_id == workspace_id)
    if start is not None:
        query = query.where(UsageRecord.created_at >= start)
    if end is not None:
        query = query.where(UsageRecord.created_at < end)
    if groups:
        query = query.group_by(*groups).order_by(*(column.nulls_first() for column in groups))

    rows = []
    for row in session.execute(query).mappings():
        out: dict[str, Any] = {_FIELDS[g]: row[_FIELDS[g]] for g in GROUPS if g in group_by}
        prompt, completion = int(row["prompt_tokens"]), int(row["completion_tokens"])
        out.update(
            requests=int(row["requests"]),
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            errors=int(row["errors"]),
            avg_latency_ms=_rounded(row["avg_latency_ms"]),
            avg_ttft_ms=_rounded(row["avg_ttft_ms"]),
        )
        rows.append(out)
    return rows


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)
