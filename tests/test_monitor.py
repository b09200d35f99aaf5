"""The monitor: uptime arithmetic against a hand computation, incident decisions, and a real outage end to end.

The end-to-end test kills real workers of a real server with SIGKILL and watches what a
user would see: an incident opening, signed webhooks and emails reaching only the
workspaces it affects, the inbox, the public status page, and the resolution once the
supervisor has the worker back.
"""

from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from conftest import MODEL, start_server
from openmaas.db.models import Component, Heartbeat, Maintenance, MaintenanceComponent
from openmaas.db.session import Database
from openmaas.monitor import rollup
from openmaas.monitor.detector import OpenIncident, ResolvedIncident, Thresholds, Tracker, decide
from openmaas.monitor.notify.webhook import verify_signature
from openmaas.monitor.probes import ReplicaView, Synthetic, deployment_result
from openmaas.monitor.uptime import (
    DAY,
    HOUR,
    Beat,
    Window,
    beat_points,
    daily,
    floor,
    roll_up,
    roll_up_beats,
    windows_report,
)
from receivers import SmtpSink, WebhookReceiver, wait_for

UTC = timezone.utc

# ---------------------------------------------------------------------------------------------------------------------
# Uptime: a synthetic heartbeat history, one beat a minute (each standing for 60 s), and the same numbers by hand.

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY_A, DAY_B, DAY_C, TODAY = (datetime(2026, 3, d, tzinfo=UTC) for d in (7, 8, 9, 10))
MAINTENANCE = Window(DAY_A + timedelta(hours=5), DAY_A + timedelta(hours=6), frozenset({"c"}))


def history() -> list[Beat]:
    """Day A: down 02:00-02:29, down during maintenance 05:00-05:59 (not counted). Day B: all up.
    Day C: degraded 20:00-20:09 (counts as up). Today until 11:59: down 11:30-11:39."""
    beats = []
    for day, last in ((DAY_A, 1440), (DAY_B, 1440), (DAY_C, 1440), (TODAY, 720)):
        for minute in range(last):
            at = day + timedelta(minutes=minute)
            status = "up"
            if day == DAY_A and (at.hour == 2 and at.minute < 30 or at.hour == 5):
                status = "down"
            if day == DAY_C and at.hour == 20 and at.minute < 10:
                status = "degraded"
            if day == TODAY and at.hour == 11 and 30 <= at.minute < 40:
                status = "down"
            beats.append(Beat("c", at, status, 60.0))
    return beats


# By hand, in minutes: up (degraded included) over up + down, maintenance left out.
HAND = {
    "24h": 100 * (720 + 710) / 1440,  # day C from 12:00 (all answering) and today (10 down of 720)
    "7d": 100 * (1350 + 1440 + 1440 + 710) / (1380 + 1440 + 1440 + 720),
}
HAND["30d"] = HAND["90d"] = HAND["7d"]
HAND_DAYS = {DAY_A.date(): 100 * 1350 / 1380, DAY_B.date(): 100.0, DAY_C.date(): 100.0, TODAY.date(): 100 * 710 / 720}


def tiers_as_rolled_up(beats: list[Beat]) -> list[list]:
    """What the roll-up leaves at NOW: complete days and hours, the minutes since, the raw beats of two hours."""
    minutes = roll_up_beats([b for b in beats if b.at < NOW - timedelta(seconds=30)], [MAINTENANCE])
    hours = [h for h in roll_up(minutes, HOUR) if h.end <= floor(NOW, HOUR)]
    days = [d for d in roll_up(hours, DAY) if d.end <= floor(NOW, DAY)]
    minutes = [m for m in minutes if m.start >= NOW - timedelta(hours=48)]
    points = beat_points([b for b in beats if b.at >= NOW - timedelta(hours=2)], [MAINTENANCE])
    return [days, hours, minutes, points]


def test_uptime_from_a_heartbeat_history_matches_the_hand_computation():
    levels = tiers_as_rolled_up(history())
    report = windows_report(levels, NOW)
    assert report == pytest.approx(HAND)
    bars = dict(daily(levels, NOW, days=90))
    assert len(bars) == 90 and max(bars) == TODAY.date()
    assert {d: p for d, p in bars.items() if p is not None} == pytest.approx(HAND_DAYS)
    day_a = [d for d in levels[0] if d.start == DAY_A][0]
    assert day_a.tally.maintenance_s == 3600 and day_a.tally.down_s == 30 * 60  # maintenance is not downtime


def test_uptime_is_the_same_from_raw_beats_alone():
    """However far the roll-up got, the answer is the same."""
    assert windows_report([[], [], [], beat_points(history(), [MAINTENANCE])], NOW) == pytest.approx(HAND)
    minutes = roll_up_beats(history(), [MAINTENANCE])
    assert windows_report([[], [], minutes, []], NOW) == pytest.approx(HAND)


def test_rollup_in_the_database_prunes_and_reports_the_same(database: Database):
    with database.session() as session:
        session.add(Component(id="c", name="c", kind="deployment", state="operational", state_since=NOW,
                              detail="", created_at=NOW))
        session.flush()
        session.add(Maintenance(id="mnt_1", title="upgrade", description="", starts_at=MAINTENANCE.start,
                                ends_at=MAINTENANCE.end, created_by="test", created_at=DAY_A))
        session.flush()
        session.add(MaintenanceComponent(maintenance_id="mnt_1", component_id="c"))
        session.add_all(Heartbeat(component_id=b.component_id, checked_at=b.at, status=b.status,
                                  interval_s=b.interval_s, detail="") for b in history())
    with database.session() as session:
        reached = rollup.roll_up(session, NOW)
        rollup.roll_up(session, NOW, reached)  # again: nothing changes
    with database.session() as session:
        raw = session.query(Heartbeat).count()
        assert raw == 120  # two hours of raw beats are kept, the rest lives on in buckets
        report = rollup.report(session, ["c"], NOW)["c"]
    assert report["uptime"] == pytest.approx(HAND)
    assert {d: p for d, p in report["days"] if p is not None} == pytest.approx(
        {d.isoformat(): p for d, p in HAND_DAYS.items()})


# ---------------------------------------------------------------------------------------------------------------------
# Incident decisions.

T = Thresholds(open_after_s=30, resolve_after_s=60, reopen_window_s=900)
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_failure_that_lasts_opens_one_incident_that_moves_to_resolved():
    tracker = Tracker.start("major_outage", at(0))
    kw = dict(detail="0/1 replicas answering", last_resolved=None, covered=False, thresholds=T)
    assert decide("m", tracker, cause="", open_incident=None, now=at(29), **kw) is None
    opened = decide("m", tracker, cause="worker exited with code -9", open_incident=None, now=at(31), **kw)
    assert (opened.kind, opened.status, opened.impact) == ("open", "identified", "major_outage")
    assert "worker exited" in opened.message
    incident = OpenIncident("inc_1", "identified", "major_outage")
    assert decide("m", tracker, cause="x", open_incident=incident, now=at(32), **kw) is None  # nothing new

    tracker.observe("partial_outage", at(40))
    change = decide("m", tracker, cause="", open_incident=incident, now=at(40), **kw)
    assert (change.kind, change.impact) == ("update", "partial_outage")

    tracker.observe("operational", at(50))
    recovering = decide("m", tracker, cause="", open_incident=incident, now=at(50), **kw)
    assert (recovering.kind, recovering.status) == ("update", "monitoring")
    monitoring = OpenIncident("inc_1", "monitoring", "none")
    assert decide("m", tracker, cause="", open_incident=monitoring, now=at(100), **kw) is None
    resolved = decide("m", tracker, cause="", open_incident=monitoring, now=at(111), **kw)
    assert (resolved.kind, resolved.status) == ("resolve", "resolved")

    tracker.observe("major_outage", at(120))  # back down while monitoring: the same incident again
    again = decide("m", tracker, cause="", open_incident=monitoring, now=at(120), **kw)
    assert (again.kind, again.status, again.incident_id) == ("update", "investigating", "inc_1")


def test_flapping_reopens_the_recent_incident_instead_of_opening_new_ones():
    kw = dict(detail="", cause="", open_incident=None, covered=False, thresholds=T)
    tracker = Tracker.start("major_outage", at(0))
    recent = ResolvedIncident("inc_1", at(-60))
    action = decide("m", tracker, last_resolved=recent, now=at(31), **kw)
    assert (action.kind, action.incident_id) == ("reopen", "inc_1")
    old = ResolvedIncident("inc_1", at(-1000))  # past the window: a new incident
    assert decide("m", tracker, last_resolved=old, now=at(31), **kw).kind == "open"
    by_hand = ResolvedIncident("inc_1", at(10))  # an admin resolved it during this failure: leave it be
    assert decide("m", tracker, last_resolved=by_hand, now=at(31), **kw) is None
    assert decide("m", tracker, last_resolved=None, now=at(31), **{**kw, "covered": True}) is None  # an admin's own
    maintenance = Tracker.start("under_maintenance", at(0))
    assert decide("m", maintenance, last_resolved=None, now=at(100), **kw) is None


def test_a_deployment_state_comes_from_its_replicas():
    ok = Synthetic(pid=1, ok=True, busy=False, latency_ms=50.0, error="", at=0.0)
    slow = Synthetic(pid=1, ok=True, busy=False, latency_ms=9000.0, error="", at=0.0)

    def views(*states):
        return [ReplicaView(i, s, restarts=1, alive=s == "ready", last_error="" if s == "ready" else "exit -9",
                            synthetic=ok if s == "ready" else None) for i, s in enumerate(states)]

    assert deployment_result(views("ready", "ready"), 1000).state == "operational"
    assert deployment_result(views("ready", "ready", "restarting"), 1000).state == "degraded_performance"
    assert deployment_result(views("ready", "restarting"), 1000).state == "partial_outage"
    down = deployment_result(views("restarting"), 1000)
    assert down.state == "major_outage" and "exit -9" in down.cause
    first_start = [ReplicaView(0, "loading", restarts=0, alive=True)]
    assert deployment_result(first_start, 1000) is None  # still being deployed: nothing to report yet
    slow_view = [ReplicaView(0, "ready", restarts=0, alive=True, synthetic=slow)]
    assert deployment_result(slow_view, 1000).state == "degraded_performance"


# ---------------------------------------------------------------------------------------------------------------------
# A real outage.


def replica_pid(client: httpx.Client, deployment_id: str) -> int:
    return client.get(f"/api/deployments/{deployment_id}").json()["replica_states"][0]["pid"]


def test_the_first_look_on_the_status_page_covers_the_gateway(tmp_path):
    """The monitor starts before the API listens; its first look waits for it, so the page never
    says "operational" with the gateway missing (it would, until the next look, 10 s later)."""
    server = start_server(tmp_path / "home", "--no-default-model", wait=False)

    def components() -> set[str]:
        try:
            return {c["id"] for c in httpx.get(f"{server.url}/status.json", timeout=5).json()["components"]}
        except (httpx.HTTPError, ValueError):
            return set()

    try:
        first = wait_for(components, timeout=120, interval=0.05, what="the first look on the status page")
        assert {"gateway", "database", "runner"} <= first
    finally:
        server.stop()


@pytest.fixture(scope="module")
def smtp():
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def monitored(tmp_path_factory, smtp):
    server = start_server(tmp_path_factory.mktemp("monitored"), env={
        "OPENMAAS_MONITOR_INTERVAL_S": "0.5", "OPENMAAS_INCIDENT_OPEN_AFTER_S": "1",
        "OPENMAAS_INCIDENT_RESOLVE_AFTER_S": "2", "OPENMAAS_RESTART_BACKOFF_S": "3",
        "OPENMAAS_DEGRADED_LATENCY_MS": "60000", "OPENMAAS_NOTIFY_RETRY_BASE_S": "0.2",
        "OPENMAAS_SMTP_HOST": "127.0.0.1", "OPENMAAS_SMTP_PORT": str(smtp.port),
        "OPENMAAS_SMTP_FROM": "status@openmaas.test", "OPENMAAS_N_CTX": "512"})
    yield server
    server.stop()


def test_a_killed_worker_opens_an_incident_tells_the_right_people_and_resolves(monitored, smtp):
    server = monitored
    receivers = {}
    try:
        with server.client() as admin:
            tenants = {}
            for name in ("a", "b"):
                ws = admin.post("/api/workspaces", json={"name": f"mon-{name}"}).json()["id"]
                key = admin.post("/api/keys", json={"workspace_id": ws}).json()["key"]
                receivers[name] = WebhookReceiver()
                with server.client(key) as c:
                    hook = c.post("/api/notifications/subscriptions", json={"channel": "webhook",
                                                                            "url": receivers[name].url})
                    assert hook.status_code == 201, hook.text
                    mail = c.post("/api/notifications/subscriptions",
                                  json={"channel": "email", "email": f"ops@{name}.example"})
                    assert mail.status_code == 201, mail.text
                tenants[name] = (ws, key, hook.json()["secret"])
            platform_id = admin.get("/api/deployments").json()["data"][0]["id"]

            # Workspace A deploys the built-in model for itself: its own component, private to it.
            with server.client(tenants["a"][1]) as a:
                created = a.post("/api/deployments", json={"model": MODEL, "n_ctx": 512})
                assert created.status_code == 201, created.text
                own_id = created.json()["id"]
                assert created.json()["workspace_id"] == tenants["a"][0]
                wait_for(lambda: any(c["id"] == own_id and c["state"] == "operational"
                                     for c in a.get("/api/status").json()["components"]),
                         timeout=180, what="A's deployment to be monitored")
            with server.client(tenants["b"][1]) as b:
                assert own_id not in b.get("/api/status").text  # B never sees A's deployment

            # Kill both workers: the platform's deployment (everyone's) and A's own.
            for deployment_id in (platform_id, own_id):
                os.kill(replica_pid(admin, deployment_id), signal.SIGKILL)
            snapshots = []

            def outage_on_status_page():
                page = httpx.get(f"{server.url}/status.json", timeout=10).json()
                snapshots.append(page)
                states = {c["id"]: c["state"] for c in page["components"]}
                return states.get(platform_id) == "major_outage" and any(
                    platform_id in [c["id"] for c in i["components"]] for i in page["incidents"]["open"])

            wait_for(outage_on_status_page, timeout=60, interval=0.2, what="the outage on /status.json")

            def opened(name):
                return {e["incident"]["components"][0]["id"]: e["incident"]["id"]
                        for e in (r.event for r in receivers[name].events) if e["type"] == "incident.opened"}

            wait_for(lambda: len(opened("a")) == 2, timeout=60, what="A's webhook to hear of both incidents")
            incident_of = opened("a")
            own_incident, platform_incident = incident_of[own_id], incident_of[platform_id]
            wait_for(lambda: platform_incident in opened("b").values(), timeout=30, what="B's webhook")

            # Both incidents resolve once the supervisor has the workers back.
            for name, incident in (("a", own_incident), ("a", platform_incident), ("b", platform_incident)):
                wait_for(lambda: "incident.resolved" in receivers[name].types(incident), timeout=180,
                         what=f"{name} to hear {incident} resolved")
            page = httpx.get(f"{server.url}/status.json", timeout=10).json()
            snapshots.append(page)
            html = httpx.get(f"{server.url}/status", timeout=10).text

            # Webhooks: signed with each subscriber's own secret, in order, and only to those affected.
            for name in ("a", "b"):
                secret = tenants[name][2]
                for got in receivers[name].events:
                    assert verify_signature(secret, got.headers["openmaas-signature"], got.body)
                    assert not verify_signature(tenants["b" if name == "a" else "a"][2],
                                                got.headers["openmaas-signature"], got.body)
            for name, incident in (("a", own_incident), ("a", platform_incident), ("b", platform_incident)):
                types = receivers[name].types(incident)
                assert types[0] == "incident.opened" and types[-1] == "incident.resolved", types
                assert types.count("incident.opened") == 1
            assert receivers["b"].of(own_incident) == []
            event = receivers["a"].of(own_incident)[0]
            assert event["status_page_url"] == f"{server.url}/status"
            assert [c["id"] for c in event["components"]] == [own_id]
            assert event["incident"]["status"] in ("investigating", "identified")
            assert event["incident"]["workspace_id"] == tenants["a"][0]
            resolved = receivers["a"].of(own_incident)[-1]["incident"]
            assert [u["status"] for u in resolved["updates"]][0] == "resolved"
            assert "monitoring" in [u["status"] for u in resolved["updates"]]

            # Email, to a real SMTP server: the same split.
            wait_for(lambda: len(smtp.to("ops@a.example", own_incident)) >= 2, timeout=30, what="A's emails")
            wait_for(lambda: len(smtp.to("ops@b.example", platform_incident)) >= 2, timeout=30, what="B's emails")
            assert smtp.to("ops@b.example", own_incident) == []
            first = smtp.to("ops@a.example", own_incident)[0].message
            assert first["Subject"].startswith("[OpenMaaS] Incident opened")
            assert f"{server.url}/status" in first.get_payload()

            # The inbox: A has both, B only the platform's.
            with server.client(tenants["a"][1]) as a, server.client(tenants["b"][1]) as b:
                inbox_a = a.get("/api/inbox").json()
                inbox_b = b.get("/api/inbox").json()
                assert {own_incident, platform_incident} <= {m["incident_id"] for m in inbox_a["data"]}
                assert own_incident not in {m["incident_id"] for m in inbox_b["data"]}
                assert platform_incident in {m["incident_id"] for m in inbox_b["data"]}
                assert b.get(f"/api/incidents/{own_incident}").status_code == 404
                assert a.get(f"/api/incidents/{own_incident}").json()["status"] == "resolved"

            # The public page never showed A's deployment, and now shows the platform's incident as past.
            assert all(own_id not in str(s) and own_incident not in str(s) for s in snapshots)
            assert own_id not in html and own_incident not in html
            assert platform_incident in [i["id"] for i in page["incidents"]["past"]]
            assert platform_incident in html
            metrics = admin.get("/metrics").text
            assert f'openmaas_component_state{{component="{own_id}"' in metrics
    finally:
        for receiver in receivers.values():
            receiver.stop()
