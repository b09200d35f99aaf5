"""Notifications: the signature recipe, subscriptions per workspace, retries with backoff, delivery across a restart.

The server runs without a model (nothing here needs one) and retries fast; incidents are
opened by an admin through the API, as an operator would.
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from conftest import start_server
from openmaas.monitor.notify.webhook import sign, verify_signature
from receivers import SmtpSink, WebhookReceiver, wait_for

FAST = {"OPENMAAS_MONITOR_INTERVAL_S": "0.5", "OPENMAAS_NOTIFY_RETRY_BASE_S": "0.2",
        "OPENMAAS_NOTIFY_RETRY_MAX_S": "1"}


def test_signatures_verify_with_the_documented_recipe():
    secret, body = "whsec_test", b'{"type":"incident.opened","id":"evt_1"}'
    header = sign(secret, body)
    assert header.startswith("t=") and ",v1=" in header
    assert verify_signature(secret, header, body)
    assert not verify_signature("whsec_wrong", header, body)  # another secret
    assert not verify_signature(secret, header, body + b" ")  # another body
    assert not verify_signature(secret, None, body) and not verify_signature(secret, "garbage", body)
    stale = sign(secret, body, timestamp=int(time.time()) - 301)
    assert not verify_signature(secret, stale, body)  # replayed after the tolerance
    assert verify_signature(secret, stale, body, tolerance_s=600)
    # The recipe by hand: HMAC-SHA256 of "<t>.<raw body>".
    import hashlib
    import hmac

    t = int(time.time())
    by_hand = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(secret, body, timestamp=t) == f"t={t},v1={by_hand}"
    assert verify_signature(secret, f"t={t},v1=0000,v1={by_hand}", body)  # any v1 may match (secret rotation)


def wait_up(server, timeout: float = 120) -> None:
    """A server without a model answers /status.json once it is up (its /health says no model is deployed)."""
    wait_for(lambda: server.process.poll() is None and _answers(f"{server.url}/status.json") or
             (server.process.poll() is not None and pytest.fail(server.log())),
             timeout=timeout, what="the server to answer")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def smtp():
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def notifying(tmp_path_factory, smtp):
    """The server, in a box: the restart test swaps in the restarted one."""
    env = {**FAST, "OPENMAAS_SMTP_HOST": "127.0.0.1", "OPENMAAS_SMTP_PORT": str(smtp.port)}
    home = tmp_path_factory.mktemp("notifying")
    box = {"server": start_server(home, "--no-default-model", env=env, wait=False), "env": env, "home": home}
    wait_up(box["server"])
    yield box
    box["server"].stop()


def new_tenant(server, name: str) -> tuple[str, str]:
    with server.client() as admin:
        ws = admin.post("/api/workspaces", json={"name": name}).json()["id"]
        return ws, admin.post("/api/keys", json={"workspace_id": ws}).json()["key"]


def open_incident(server, title: str) -> dict:
    with server.client() as admin:
        for _ in range(600):  # the monitor's first round records the components
            if "gateway" in {c["id"] for c in admin.get("/status.json").json()["components"]}:
                break
            time.sleep(0.1)
        response = admin.post("/api/incidents", json={"title": title, "message": "Looking into it.",
                                                      "components": ["gateway"], "impact": "partial_outage"})
        assert response.status_code == 201, response.text
        return response.json()


def test_subscriptions_belong_to_their_workspace(notifying):
    server = notifying["server"]
    (ws_a, key_a), (_, key_b) = new_tenant(server, "sub-a"), new_tenant(server, "sub-b")
    with server.client(key_a) as a, server.client(key_b) as b:
        hook = a.post("/api/notifications/subscriptions", json={"channel": "webhook", "url": "http://127.0.0.1:9/x"})
        assert hook.status_code == 201
        created = hook.json()
        assert created["secret"].startswith("whsec_") and created["workspace_id"] == ws_a
        mail = a.post("/api/notifications/subscriptions", json={"channel": "email", "email": "ops@a.example"}).json()
        listed = a.get("/api/notifications/subscriptions").json()["data"]
        assert {s["id"] for s in listed} == {created["id"], mail["id"]}
        assert created["secret"] not in json.dumps(listed)  # shown once, at creation
        assert b.get("/api/notifications/subscriptions").json()["data"] == []
        assert b.delete(f"/api/notifications/subscriptions/{created['id']}").status_code == 404
        for bad, param in (({"channel": "webhook", "url": "ftp://x"}, "url"), ({"channel": "email"}, "email"),
                           ({"channel": "sms"}, "channel")):
            refused = a.post("/api/notifications/subscriptions", json=bad)
            assert refused.status_code == 400 and refused.json()["error"]["param"] == param, refused.text
        assert a.delete(f"/api/notifications/subscriptions/{created['id']}").json()["deleted"] is True
        assert a.delete(f"/api/notifications/subscriptions/{mail['id']}").status_code == 200
        assert a.get("/api/notifications/subscriptions").json()["data"] == []
    assert httpx.get(f"{server.url}/api/notifications/subscriptions").status_code == 401


def test_a_failing_endpoint_gets_the_event_on_the_third_attempt(notifying, smtp):
    server = notifying["server"]
    ws, key = new_tenant(server, "flaky")
    receiver = WebhookReceiver(fail_first=2)
    try:
        with server.client(key) as c:
            secret = c.post("/api/notifications/subscriptions",
                            json={"channel": "webhook", "url": receiver.url}).json()["secret"]
            c.post("/api/notifications/subscriptions", json={"channel": "email", "email": "ops@flaky.example"})
        incident = open_incident(server, "Slow answers from the API")
        wait_for(lambda: receiver.events, timeout=30, what="the third attempt")
        assert len(receiver.attempts) == 3
        assert len({a.headers["openmaas-delivery"] for a in receiver.attempts}) == 1  # one event, retried
        for attempt in receiver.attempts:
            assert verify_signature(secret, attempt.headers["openmaas-signature"], attempt.body)
        event = receiver.events[0].event
        assert event["type"] == "incident.opened" and event["id"] == receiver.attempts[0].headers["openmaas-delivery"]
        assert event["incident"]["id"] == incident["id"] and event["incident"]["workspace_id"] is None
        assert [c["id"] for c in event["components"]] == ["gateway"]
        assert event["status_page_url"].endswith("/status")

        with server.client(key) as c:
            log = c.get("/api/notifications/deliveries", params={"incident_id": incident["id"]}).json()["data"]
            [webhook] = [d for d in log if d["channel"] == "webhook"]
            assert webhook["status"] == "delivered"
            assert [(a["ok"], a["status_code"]) for a in webhook["attempts"]] == [(False, 500), (False, 500),
                                                                                   (True, 204)]
            # Workspace-wide: the platform incident is in the inbox too, and can be marked read.
            inbox = c.get("/api/inbox").json()
            [message] = [m for m in inbox["data"] if m["incident_id"] == incident["id"]]
            assert message["event"] == "incident.opened" and message["read_at"] is None and inbox["unread"] >= 1
            assert c.post(f"/api/inbox/{message['id']}/read").json()["read_at"] is not None
            assert c.post("/api/inbox/read").status_code == 200
            assert c.get("/api/inbox", params={"unread": True}).json() == {"object": "list", "unread": 0, "data": []}

        wait_for(lambda: smtp.to("ops@flaky.example", incident["id"]), timeout=30, what="the email")
        mail = smtp.to("ops@flaky.example", incident["id"])[0].message
        assert mail["Subject"] == "[OpenMaaS] Incident opened: Slow answers from the API"
        assert "Looking into it." in mail.get_payload()

        with server.client() as admin:
            assert admin.post(f"/api/incidents/{incident['id']}/resolve",
                              json={"message": "Fixed."}).status_code == 200
        wait_for(lambda: "incident.resolved" in receiver.types(incident["id"]), timeout=30, what="the resolution")
        wait_for(lambda: len(smtp.to("ops@flaky.example", incident["id"])) == 2, timeout=30, what="the 2nd email")
    finally:
        receiver.stop()


def test_a_delivery_owed_across_a_restart_still_arrives(notifying):
    server = notifying["server"]
    _, key = new_tenant(server, "patient")
    with socket.socket() as s:  # a port where nothing listens yet
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with server.client(key) as c:
        secret = c.post("/api/notifications/subscriptions",
                        json={"channel": "webhook", "url": f"http://127.0.0.1:{port}/hook"}).json()["secret"]
    incident = open_incident(server, "Database maintenance overran")

    def failed_attempts():
        with server.client(key) as c:
            log = c.get("/api/notifications/deliveries", params={"incident_id": incident["id"]}).json()["data"]
        return log and log[0]["attempts"]

    wait_for(failed_attempts, timeout=30, what="a failed attempt")
    assert server.stop() in (0, -15)  # SIGTERM with the delivery still owed
    assert "Traceback" not in server.log()

    restarted = start_server(notifying["home"], "--no-default-model", env=notifying["env"], wait=False)
    notifying["server"] = restarted
    wait_up(restarted)
    receiver = WebhookReceiver(port=port)
    try:
        wait_for(lambda: receiver.events, timeout=60, what="the delivery after the restart")
        got = receiver.events[0]
        assert verify_signature(secret, got.headers["openmaas-signature"], got.body)
        assert got.event["type"] == "incident.opened" and got.event["incident"]["id"] == incident["id"]
        with restarted.client(key) as c:
            [delivery] = c.get("/api/notifications/deliveries", params={"incident_id": incident["id"]}).json()["data"]
        assert delivery["status"] == "delivered" and len(delivery["attempts"]) >= 2
        assert delivery["id"] == got.event["id"]
    finally:
        receiver.stop()
