"""The status page's data, for the public (platform components only) or for one workspace, and its HTML.

`snapshot` is the one source: /status.json returns it, /status renders it, /api/status
returns a workspace's (or an admin's) view of it. Nothing a tenant owns is in the public
snapshot: components, incidents and maintenance are all filtered through an Audience.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import Session

from openmaas.db.models import Component
from openmaas.monitor import incidents, maintenance
from openmaas.monitor.audience import Audience
from openmaas.monitor.rollup import UptimeCache
from openmaas.monitor.states import LABELS, MONITORING, OPERATIONAL, summary, worst

KIND_ORDER = {"gateway": 0, "database": 1, "runner": 2, "deployment": 3}
PAST_INCIDENT_DAYS = 14


def _unix(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def visible_components(session: Session, audience: Audience) -> list[Component]:
    rows = session.scalars(select(Component).where(Component.active, audience.where(Component.workspace_id)))
    return sorted(rows, key=lambda c: (KIND_ORDER.get(c.kind, 9), c.name, c.id))


def component_dict(component: Component, uptime: dict | None, declared: str | None = None) -> dict:
    """`state` is what the monitor measured, or worse when an admin's open incident declares worse."""
    state = worst([component.state, declared]) if declared else component.state
    return {
        "id": component.id,
        "name": component.name,
        "kind": component.kind,
        "workspace_id": component.workspace_id,
        "state": state,
        "state_label": LABELS.get(state, state),
        "measured_state": component.state,
        "since": _unix(component.state_since),
        "detail": component.detail,
        "latency_ms": component.latency_ms,
        "checked_at": _unix(component.checked_at),
        "uptime": (uptime or {}).get("uptime", {}),
        "days": (uptime or {}).get("days", []),
    }


def snapshot(session: Session, audience: Audience, cache: UptimeCache | None, status_url: str,
             now: datetime) -> dict:
    components = visible_components(session, audience)
    uptime = cache.get([c.id for c in components], now) if cache is not None and components else {}
    open_ = incidents.list_incidents(session, audience, open_only=True)
    past = [i for i in incidents.list_incidents(session, audience, since=now - timedelta(days=PAST_INCIDENT_DAYS))
            if i.resolved_at is not None]
    windows = maintenance.list_windows(session, audience, ending_after=now)
    window_components = maintenance.components_of(session, [w.id for w in windows])
    open_dicts = incidents.incident_dicts(session, open_, audience, status_url)
    # An admin's open incident states an impact the probes may not see; the monitor's own follow the probes.
    declared: dict[str, str] = {}
    loose = []  # impacts of declared incidents that name no component we show
    for incident, shown in zip(open_, open_dicts):
        if incident.auto or incident.status == MONITORING:
            continue
        for c in shown["components"]:
            declared[c["id"]] = worst([declared.get(c["id"], OPERATIONAL), incident.impact])
        if not shown["components"]:
            loose.append(incident.impact)
    shown_components = [component_dict(c, uptime.get(c.id), declared.get(c.id)) for c in components]
    states = [c["state"] for c in shown_components] + [i for i in loose if i in LABELS]
    return {
        "page": {"name": "OpenMaaS", "url": status_url, "generated_at": _unix(now)},
        "status": {"indicator": worst(states), "description": summary(states)},
        "components": shown_components,
        "incidents": {"open": open_dicts,
                      "past": incidents.incident_dicts(session, past, audience, status_url)},
        "maintenance": [maintenance.window_dict(w, window_components[w.id], audience, now) for w in windows],
    }


def _when(unix: int | None) -> str:
    if unix is None:
        return ""
    return datetime.fromtimestamp(unix, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _bar_class(percent: float | None) -> str:
    if percent is None:
        return "nodata"
    if percent >= 99.9:
        return "good"
    if percent >= 99.0:
        return "minor"
    if percent >= 95.0:
        return "partial"
    return "major"


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{value:.2f}%"


_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(when=_when, bar=_bar_class, percent=_percent, label=lambda s: LABELS.get(s, s))

PAGE = _ENV.from_string("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ page.name }} status: {{ status.description }}</title>
<link rel="alternate" type="application/atom+xml" title="Incidents" href="{{ feed_url }}">
<style>
 body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
 main { max-width: 860px; margin: 0 auto; padding: 24px 16px 48px; }
 h1 { font-size: 24px; margin: 8px 0 16px; } h2 { font-size: 18px; margin: 28px 0 10px; }
 .banner { padding: 14px 18px; border-radius: 8px; color: #fff; font-weight: 600; font-size: 17px; }
 .operational { background: #2f9e58; } .degraded_performance { background: #d4a20b; }
 .partial_outage { background: #e0701b; } .major_outage { background: #cf3030; } .under_maintenance { background: #3a72c4; }
 .card { background: #fff; border: 1px solid #e1e4ea; border-radius: 8px; padding: 14px 16px; margin: 10px 0; }
 .row { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; flex-wrap: wrap; }
 .name { font-weight: 600; } .muted { color: #69707d; font-size: 13px; }
 .state { font-weight: 600; font-size: 14px; } .state.operational { color: #2f9e58; background: none; }
 .state.degraded_performance { color: #b38700; background: none; } .state.partial_outage { color: #d0600f; background: none; }
 .state.major_outage { color: #cf3030; background: none; } .state.under_maintenance { color: #3a72c4; background: none; }
 .bars { display: flex; gap: 2px; margin: 10px 0 4px; height: 30px; }
 .bars span { flex: 1; border-radius: 2px; }
 .bars .good { background: #3bb36a; } .bars .minor { background: #e6c229; } .bars .partial { background: #ef8a2f; }
 .bars .major { background: #d84040; } .bars .nodata { background: #d8dce3; }
 .update { border-left: 3px solid #d8dce3; padding: 2px 0 2px 10px; margin: 8px 0; }
 .update b { text-transform: capitalize; }
 footer { margin-top: 32px; } a { color: #2a5fb0; }
</style>
</head>
<body>
<main>
<h1>{{ page.name }} status</h1>
<div class="banner {{ status.indicator }}">{{ status.description }}</div>

{% if incidents.open %}
<h2>Current incidents</h2>
{% for incident in incidents.open %}
<div class="card" id="{{ incident.id }}">
 <div class="row"><span class="name">{{ incident.title }}</span><span class="state {{ incident.impact }}">{{ incident.status | capitalize }}</span></div>
 {% if incident.components %}<div class="muted">Affects {{ incident.components | map(attribute="name") | join(", ") }}</div>{% endif %}
 {% for update in incident.updates %}
 <div class="update"><b>{{ update.status }}</b> &middot; <span class="muted">{{ update.created_at | when }}</span><br>{{ update.message }}</div>
 {% endfor %}
</div>
{% endfor %}
{% endif %}

{% if maintenance %}
<h2>Scheduled maintenance</h2>
{% for window in maintenance %}
<div class="card" id="{{ window.id }}">
 <div class="row"><span class="name">{{ window.title }}</span><span class="state under_maintenance">{{ window.status | replace("_", " ") | capitalize }}</span></div>
 <div class="muted">{{ window.starts_at | when }} to {{ window.ends_at | when }}{% if window.components %} &middot; {{ window.components | map(attribute="name") | join(", ") }}{% endif %}</div>
 {% if window.description %}<p>{{ window.description }}</p>{% endif %}
</div>
{% endfor %}
{% endif %}

<h2>Components</h2>
{% for c in components %}
<div class="card" id="{{ c.id }}">
 <div class="row"><span class="name">{{ c.name }} <span class="muted">{{ c.kind }}</span></span><span class="state {{ c.state }}">{{ c.state | label }}</span></div>
 {% if c.detail and c.state != "operational" %}<div class="muted">{{ c.detail }}</div>{% endif %}
 <div class="bars" aria-label="uptime of the last {{ c.days | length }} days">
 {% for day, pct in c.days %}<span class="{{ pct | bar }}" title="{{ day }}: {{ pct | percent }}"></span>{% endfor %}
 </div>
 <div class="row muted"><span>{{ c.days | length }} days ago</span>
  <span>uptime 24h {{ c.uptime.get("24h") | percent }} &middot; 7d {{ c.uptime.get("7d") | percent }} &middot; 30d {{ c.uptime.get("30d") | percent }} &middot; 90d {{ c.uptime.get("90d") | percent }}</span>
  <span>today</span></div>
</div>
{% else %}
<div class="card muted">No component has reported yet.</div>
{% endfor %}

<h2>Past incidents</h2>
{% for incident in incidents.past %}
<div class="card" id="{{ incident.id }}">
 <div class="row"><span class="name">{{ incident.title }}</span><span class="muted">{{ incident.created_at | when }} to {{ incident.resolved_at | when }}</span></div>
 {% for update in incident.updates %}
 <div class="update"><b>{{ update.status }}</b> &middot; <span class="muted">{{ update.created_at | when }}</span><br>{{ update.message }}</div>
 {% endfor %}
</div>
{% else %}
<div class="card muted">No incidents in the last {{ past_days }} days.</div>
{% endfor %}

<footer class="muted">Updated {{ page.generated_at | when }} &middot; <a href="{{ json_url }}">JSON</a> &middot; <a href="{{ feed_url }}">Atom feed</a></footer>
</main>
</body>
</html>
""")


def render_html(data: dict, status_url: str) -> str:
    return PAGE.render(**data, feed_url=f"{status_url}/feed.atom", json_url=f"{status_url}.json",
                       past_days=PAST_INCIDENT_DAYS)
