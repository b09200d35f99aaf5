"""The status page, public and per workspace; incidents and maintenance windows by API and by CLI.

The server runs without a model and probes every half second: the gateway, the database
and the fine-tuning runner are its components (deployments on the page are covered by
test_monitor).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from conftest import start_server
from receivers import wait_for

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def status_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("status"), "--no-default-model", wait=False,
                          env={"OPENMAAS_MONITOR_INTERVAL_S": "0.5"})

    def up():
        if server.process.poll() is not None:
            pytest.fail(server.log())
        try:
            page = httpx.get(f"{server.url}/status.json", timeout=5).json()
        except httpx.HTTPError:
            return False
        return {c["id"] for c in page["components"]} >= {"gateway", "database", "runner"}

    wait_for(up, timeout=120, what="the gateway, database and runner on the status page")
    yield server
    server.stop()


def public(server) -> dict:
    return httpx.get(f"{server.url}/status.json", timeout=10).json()


def component(page: dict, component_id: str) -> dict:
    return next(c for c in page["components"] if c["id"] == component_id)


def test_the_public_page_needs_no_key_and_shows_components_with_uptime(status_server):
    server = status_server
    page = public(server)
    assert page["status"] == {"indicator": "operational", "description": "All systems operational"}
    gateway = component(page, "gateway")
    assert gateway["state"] == "operational" and gateway["latency_ms"] is not None
    wait_for(lambda: component(public(server), "gateway")["uptime"]["24h"] == 100.0, timeout=60,
             what="uptime to be measured")
    gateway = component(public(server), "gateway")
    assert set(gateway["uptime"]) == {"24h", "7d", "30d", "90d"} and len(gateway["days"]) == 90
    assert gateway["days"][-1][1] == 100.0 and gateway["days"][0][1] is None  # today measured, 90 days ago not

    html = httpx.get(f"{server.url}/status", timeout=10)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "All systems operational" in html.text and "API gateway" in html.text and "Database" in html.text
    assert "Fine-tuning job runner" in html.text
    bars = re.findall(r'<div class="bars"[^>]*>(.*?)</div>', html.text, re.S)
    assert len(bars) == 3 and all(b.count("<span") == 90 for b in bars)  # gateway, database, runner
    assert "<script" not in html.text

    feed = httpx.get(f"{server.url}/status/feed.atom", timeout=10)
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert ET.fromstring(feed.content).find(f"{ATOM}title").text == "OpenMaaS incidents"


def test_an_incident_is_opened_updated_and_resolved_in_public(status_server):
    server = status_server
    with server.client() as admin:
        ws = admin.post("/api/workspaces", json={"name": "reader"}).json()["id"]
        tenant_key = admin.post("/api/keys", json={"workspace_id": ws}).json()["key"]
        created = admin.post("/api/incidents", json={
            "title": "Elevated error rates", "message": "We are looking into errors on the API.",
            "status": "investigating", "impact": "partial_outage", "components": ["gateway"]})
        assert created.status_code == 201, created.text
        incident = created.json()
        assert incident["workspace_id"] is None and incident["automatic"] is False

        page = public(server)
        [shown] = [i for i in page["incidents"]["open"] if i["id"] == incident["id"]]
        assert shown["updates"][0]["message"] == "We are looking into errors on the API."
        gateway = component(page, "gateway")  # the admin's word stands beside what the probes measure
        assert (gateway["state"], gateway["measured_state"]) == ("partial_outage", "operational")
        assert page["status"] == {"indicator": "partial_outage", "description": "Partial outage"}
        assert incident["id"] in httpx.get(f"{server.url}/status", timeout=10).text

        with server.client(tenant_key) as tenant:  # a workspace reads platform incidents but cannot write them
            assert incident["id"] in [i["id"] for i in tenant.get("/api/incidents").json()["data"]]
            assert tenant.post("/api/incidents", json={"title": "x", "message": "y"}).status_code == 403
            assert tenant.post(f"/api/incidents/{incident['id']}/resolve").status_code == 403

        updated = admin.post(f"/api/incidents/{incident['id']}/updates",
                             json={"status": "identified", "message": "A bad configuration push."}).json()
        assert [u["status"] for u in updated["updates"]] == ["identified", "investigating"]
        resolved = admin.post(f"/api/incidents/{incident['id']}/resolve", json={"message": "Rolled back."}).json()
        assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
        again = admin.post(f"/api/incidents/{incident['id']}/resolve")
        assert again.status_code == 400

        for body, param in (({"title": "t", "message": "m", "components": ["nope"]}, "components"),
                            ({"title": "t", "message": "m", "status": "panicking"}, "status"),
                            ({"title": "t", "message": "m", "impact": "apocalypse"}, "impact")):
            refused = admin.post("/api/incidents", json=body)
            assert refused.status_code in (400, 404) and refused.json()["error"]["param"] == param, refused.text
        assert admin.get("/api/incidents/inc_nope").status_code == 404

    page = public(server)
    assert page["status"]["indicator"] == "operational"
    assert incident["id"] not in [i["id"] for i in page["incidents"]["open"]]
    assert incident["id"] in [i["id"] for i in page["incidents"]["past"]]
    feed = ET.fromstring(httpx.get(f"{server.url}/status/feed.atom", timeout=10).content)
    titles = [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]
    assert "[resolved] Elevated error rates" in titles


def test_maintenance_puts_a_component_under_maintenance_until_cancelled(status_server):
    server = status_server
    now = datetime.now(timezone.utc)
    with server.client() as admin:
        created = admin.post("/api/maintenance", json={
            "title": "Database upgrade", "description": "Moving to a bigger disk.",
            "starts_at": (now - timedelta(minutes=1)).isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat(),
            "components": ["database"]})
        assert created.status_code == 201, created.text
        window = created.json()
        assert window["status"] == "in_progress" and [c["id"] for c in window["components"]] == ["database"]

        wait_for(lambda: component(public(server), "database")["state"] == "under_maintenance", timeout=30,
                 what="the database under maintenance")
        page = public(server)
        assert page["status"]["indicator"] == "under_maintenance"
        assert [m["id"] for m in page["maintenance"]] == [window["id"]]
        assert "Database upgrade" in httpx.get(f"{server.url}/status", timeout=10).text
        assert component(page, "gateway")["state"] == "operational"

        naive = admin.post("/api/maintenance", json={"title": "x", "starts_at": "2030-01-01T00:00:00",
                                                     "ends_at": "2030-01-01T01:00:00", "components": ["database"]})
        assert naive.status_code == 400
        assert admin.delete(f"/api/maintenance/{window['id']}").json()["status"] == "cancelled"
    wait_for(lambda: component(public(server), "database")["state"] == "operational", timeout=30,
             what="the database back from maintenance")
    assert public(server)["maintenance"] == []


def test_the_cli_manages_incidents_and_maintenance(status_server):
    server = status_server  # each command is a process of its own, on the same home as the server
    created = server.cli("incidents", "create", "--title", "Slow database", "--message", "Queries are slow.",
                         "--impact", "degraded_performance", "--component", "database")
    assert created.returncode == 0, created.stdout + created.stderr
    incident_id = re.search(r"inc_[0-9a-f]+", created.stdout).group(0)
    assert incident_id in [i["id"] for i in public(server)["incidents"]["open"]]
    resolved = server.cli("incidents", "resolve", incident_id, "--message", "A fix is out.")
    assert resolved.returncode == 0 and "A fix is out." in resolved.stdout, resolved.stdout + resolved.stderr
    assert incident_id in [i["id"] for i in public(server)["incidents"]["past"]]

    start = datetime.now(timezone.utc) + timedelta(days=1)
    scheduled = server.cli("maintenance", "schedule", "--title", "Gateway restart", "--component", "gateway",
                           "--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat())
    assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
    maintenance_id = re.search(r"mnt_[0-9a-f]+", scheduled.stdout).group(0)
    [upcoming] = [m for m in public(server)["maintenance"] if m["id"] == maintenance_id]
    assert upcoming["status"] == "scheduled"
    cancelled = server.cli("maintenance", "cancel", maintenance_id)
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert maintenance_id not in [m["id"] for m in public(server)["maintenance"]]
    assert server.cli("maintenance", "cancel", "mnt_nope").returncode == 1


def test_the_workspace_view_needs_a_key_and_metrics_export_states(status_server):
    server = status_server
    assert httpx.get(f"{server.url}/api/status", timeout=10).status_code == 401
    with server.client() as admin:
        ws = admin.post("/api/workspaces", json={"name": "viewer"}).json()["id"]
        key = admin.post("/api/keys", json={"workspace_id": ws}).json()["key"]
        metrics = admin.get("/metrics").text
        assert 'openmaas_component_state{component="gateway",kind="gateway",name="API gateway",' \
               'state="operational"} 1.0' in metrics
        assert "openmaas_component_probe_latency_seconds" in metrics
    with server.client(key) as tenant:
        view = tenant.get("/api/status")
        assert view.status_code == 200
        assert {c["id"] for c in view.json()["components"]} >= {"gateway", "database"}
        assert tenant.get("/api/status", params={"workspace_id": "ws_other"}).status_code == 403
