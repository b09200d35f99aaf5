"""The words of a notification: a title and a plain-text body, from an event's payload."""

from __future__ import annotations

from datetime import datetime, timezone

from openmaas.monitor.states import LABELS

VERBS = {"incident.opened": "Incident opened", "incident.updated": "Incident updated",
         "incident.resolved": "Incident resolved"}


def _when(unix: int | None) -> str:
    if unix is None:
        return "-"
    return datetime.fromtimestamp(unix, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def title(event: str, payload: dict) -> str:
    return f"{VERBS.get(event, event)}: {payload['incident']['title']}"[:400]


def body(event: str, payload: dict) -> str:
    incident = payload["incident"]
    lines = [title(event, payload), "",
             f"Status: {incident['status']}    Impact: {LABELS.get(incident['impact'], incident['impact'])}"]
    if payload.get("components"):
        lines.append("Affected: " + ", ".join(f"{c['name']} ({c['id']})" for c in payload["components"]))
    lines.append("")
    for update in incident["updates"]:
        lines.append(f"{_when(update['created_at'])}  [{update['status']}]  {update['message']}")
    lines += ["", f"Status page: {payload['status_page_url']}"]
    return "\n".join(lines)
