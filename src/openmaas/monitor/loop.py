"""The monitor: every `monitor_interval_s`, probe each component, store heartbeats and states, act on incidents.

Probes run concurrently on the event loop (the database's in a thread); everything a tick
learned is written in one transaction: component states, heartbeats, and the incident
changes with the notifications they owe. A roll-up of heartbeats into uptime buckets
runs every minute beside it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import httpx
from sqlalchemy import select

from openmaas.db.models import Component as ComponentRow
from openmaas.db.models import Heartbeat, Incident, IncidentComponent, IncidentUpdate, utcnow
from openmaas.db.session import Database
from openmaas.monitor import incidents, rollup
from openmaas.monitor.components import Component, ComponentRegistry, ProbeResult
from openmaas.monitor.detector import Action, OpenIncident, ResolvedIncident, Thresholds, Tracker, decide
from openmaas.monitor.maintenance import under_maintenance
from openmaas.monitor.probes import DatabaseProbe, DeploymentProbes, GatewayProbe, loopback_url
from openmaas.monitor.states import MAINTENANCE, MAJOR, RESOLVED, beat_status
from openmaas.workers.supervisor import Supervisor

log = logging.getLogger("openmaas.monitor")

AUTHOR = "monitor"
ROLLUP_EVERY_S = 60.0


def _display_name(component: Component) -> str:
    """How incidents name a component: a deployment by its model and id (a model may be deployed twice)."""
    return f"{component.name} ({component.id})" if component.kind == "deployment" else component.name


@dataclass(frozen=True)
class Observation:
    component: Component
    result: ProbeResult
    state: str  # the result's state, or under_maintenance during a window
    interval_s: float


class Monitor:
    def __init__(self, settings, db: Database, supervisor: Supervisor, client: httpx.AsyncClient,
                 on_notify: Callable[[], None] = lambda: None):
        self.settings, self.db, self.on_notify = settings, db, on_notify
        self.interval_s = settings.monitor_interval_s
        self.thresholds = Thresholds(settings.incident_open_after_s, settings.incident_resolve_after_s,
                                     settings.incident_reopen_window_s)
        self.status_url = incidents.status_page_url(settings)
        degraded_ms = settings.degraded_latency_ms
        self.registry = ComponentRegistry()
        self._gateway_probe = GatewayProbe(client, loopback_url(settings.host, settings.port), degraded_ms)
        self.registry.add(Component("gateway", "API gateway", "gateway", None, self._gateway_probe))
        self.registry.add(Component("database", "Database", "database", None, DatabaseProbe(db, degraded_ms)))
        # The fine-tuning runner joins from the app (see app.py) when it runs.
        self.registry.add_source(DeploymentProbes(
            supervisor, client, synthetic_interval_s=settings.synthetic_interval_s, degraded_ms=degraded_ms))
        self.uptime = rollup.UptimeCache(db)
        self.trackers: dict[str, Tracker] = {}
        self.latest: dict[str, Observation] = {}  # for /metrics
        self._last_beat: dict[str, float] = {}
        self._rolled_to: datetime | None = None

    @property
    def probe_timeout_s(self) -> float:
        return max(40.0, 2 * self.interval_s)  # above a synthetic completion's timeout and its retry

    async def run(self) -> None:
        await self._until_listening()
        while True:
            started = time.monotonic()
            try:
                await self.tick()
            except Exception:
                log.exception("monitor tick failed")
            await asyncio.sleep(max(0.05, self.interval_s - (time.monotonic() - started)))

    async def _until_listening(self, limit_s: float = 30.0) -> None:
        """Wait for the API to take connections before the first look. The monitor starts with the
        app, before uvicorn binds its socket: a look then would skip the gateway, and the status
        page would say "operational" without it until the next interval."""
        deadline = time.monotonic() + limit_s
        while await self._gateway_probe() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    async def run_rollups(self) -> None:
        lag = timedelta(seconds=max(10.0, 3 * self.interval_s))
        while True:
            try:
                self._rolled_to = await anyio.to_thread.run_sync(self._roll_up, lag)
            except Exception:
                log.exception("uptime roll-up failed")
            await asyncio.sleep(ROLLUP_EVERY_S)

    def _roll_up(self, lag: timedelta) -> datetime:
        with self.db.session() as session:
            return rollup.roll_up(session, utcnow(), self._rolled_to, lag)

    async def _probe(self, component: Component) -> ProbeResult | None:
        try:
            with anyio.fail_after(self.probe_timeout_s):
                return await component.probe()
        except TimeoutError:
            return ProbeResult(MAJOR, None, f"the probe did not finish in {self.probe_timeout_s:.0f} s")
        except Exception as exc:
            log.exception("probe of %s failed", component.id)
            return ProbeResult(MAJOR, None, f"the probe failed: {type(exc).__name__}: {exc}"[:500])

    async def tick(self) -> None:
        components = self.registry.current()
        results = await asyncio.gather(*(self._probe(c) for c in components))
        mono = time.monotonic()
        observations = []
        for component, result in zip(components, results):
            if result is None:
                continue
            last = self._last_beat.get(component.id)
            interval = self.interval_s if last is None else min(mono - last, 3 * self.interval_s)
            self._last_beat[component.id] = mono
            observations.append(Observation(component, result, result.state, round(interval, 3)))
        notified = await anyio.to_thread.run_sync(self._record, [c.id for c in components], observations, utcnow())
        if notified:
            self.on_notify()

    # -- one transaction per tick ------------------------------------------------------------------------------
    def _record(self, registered: list[str], observations: list[Observation], now: datetime) -> bool:
        with self.db.session() as session:
            maintained = under_maintenance(session, now)
            rows = {row.id: row for row in session.scalars(select(ComponentRow))}
            seen = []
            for obs in observations:
                state = MAINTENANCE if obs.component.id in maintained else obs.result.state
                obs = Observation(obs.component, obs.result, state, obs.interval_s)
                seen.append(obs)
                self.latest[obs.component.id] = obs
                rows[obs.component.id] = self._save_state(session, rows.get(obs.component.id), obs, now)
                session.add(Heartbeat(component_id=obs.component.id, checked_at=now,
                                      status=beat_status(obs.result.state), latency_ms=obs.result.latency_ms,
                                      interval_s=obs.interval_s, detail=obs.result.detail))
                tracker = self.trackers.get(obs.component.id)
                if tracker is None:
                    self.trackers[obs.component.id] = Tracker.start(state, now)
                else:
                    tracker.observe(state, now)
            session.flush()
            retired = self._retire(session, rows, set(registered), now)
            return self._act(session, seen, now) or retired

    def _save_state(self, session, row: ComponentRow | None, obs: Observation, now: datetime) -> ComponentRow:
        c = obs.component
        if row is None:
            row = ComponentRow(id=c.id, workspace_id=c.workspace_id, name=c.name, kind=c.kind, state=obs.state,
                               state_since=now, created_at=now)
            session.add(row)
        if row.state != obs.state:
            row.state, row.state_since = obs.state, now
        row.active, row.name = True, c.name
        row.detail, row.latency_ms, row.checked_at = obs.result.detail, obs.result.latency_ms, now
        return row

    def _retire(self, session, rows: dict[str, ComponentRow], registered: set[str], now: datetime) -> bool:
        """Components gone from the registry (a stopped deployment): inactive, their automatic incidents resolved."""
        acted = False
        for row in rows.values():
            if not row.active or row.id in registered:
                continue
            row.active = False
            self.trackers.pop(row.id, None)
            self.latest.pop(row.id, None)
            for incident in self._open_incidents(session, [row.id]).get(row.id, []):
                if incident.auto:
                    incidents.update_incident(session, incident, status=RESOLVED, author=AUTHOR,
                                              message=f"{row.name} was removed (its deployment was stopped).",
                                              impact="none", status_url=self.status_url, now=now)
                    acted = True
        return acted

    def _open_incidents(self, session, component_ids: list[str]) -> dict[str, list[Incident]]:
        out: dict[str, list[Incident]] = {}
        for component_id, incident in session.execute(
                select(IncidentComponent.component_id, Incident)
                .join(Incident, Incident.id == IncidentComponent.incident_id)
                .where(Incident.resolved_at.is_(None), IncidentComponent.component_id.in_(component_ids))):
            out.setdefault(component_id, []).append(incident)
        return out

    def _act(self, session, observations: list[Observation], now: datetime) -> bool:
        ids = [o.component.id for o in observations]
        if not ids:
            return False
        open_by_component = self._open_incidents(session, ids)
        open_auto = {cid: next((i for i in found if i.auto), None) for cid, found in open_by_component.items()}
        latest_impact = {}
        auto_ids = [i.id for i in open_auto.values() if i is not None]
        if auto_ids:
            for update in session.scalars(select(IncidentUpdate).where(IncidentUpdate.incident_id.in_(auto_ids))
                                          .order_by(IncidentUpdate.id)):
                latest_impact[update.incident_id] = update.impact
        failing_since = [t.failing_since for cid, t in self.trackers.items() if cid in ids and t.failing_since]
        horizon = min([now - timedelta(seconds=self.thresholds.reopen_window_s), *failing_since])
        last_resolved: dict[str, ResolvedIncident] = {}
        for component_id, incident in session.execute(
                select(IncidentComponent.component_id, Incident)
                .join(Incident, Incident.id == IncidentComponent.incident_id)
                .where(Incident.auto, Incident.resolved_at >= horizon, IncidentComponent.component_id.in_(ids))
                .order_by(Incident.resolved_at.desc())):
            last_resolved.setdefault(component_id, ResolvedIncident(incident.id, incident.resolved_at))
        acted = False
        for obs in observations:
            cid = obs.component.id
            found = open_auto.get(cid)
            action = decide(
                _display_name(obs.component), self.trackers[cid], detail=obs.result.detail, cause=obs.result.cause,
                open_incident=None if found is None else OpenIncident(found.id, found.status,
                                                                      latest_impact.get(found.id, found.impact)),
                last_resolved=last_resolved.get(cid),
                covered=any(not i.auto for i in open_by_component.get(cid, [])),
                now=now, thresholds=self.thresholds)
            if action is not None:
                self._apply(session, action, cid, now)
                acted = True
        return acted

    def _apply(self, session, action: Action, component_id: str, now: datetime) -> None:
        log.info("incident %s for %s: %s (%s)", action.kind, component_id, action.status, action.message)
        if action.kind == "open":
            incidents.open_incident(session, title=action.title, status=action.status, impact=action.impact,
                                    message=action.message, component_ids=[component_id], author=AUTHOR,
                                    status_url=self.status_url, auto=True, now=now)
            return
        incident = session.get(Incident, action.incident_id)
        incidents.update_incident(session, incident, status=action.status, message=action.message,
                                  impact=action.impact, author=AUTHOR, status_url=self.status_url, now=now)
