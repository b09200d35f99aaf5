"""Real processes: a worker killed mid-stream, the supervisor's restart, a clean shutdown."""

from __future__ import annotations

import os
import signal
import time

import httpx
import openai
import pytest

from conftest import MODEL, start_server


def replica_pids(client: httpx.Client) -> list[int]:
    deployments = client.get("/api/deployments").json()["data"]
    return [r["pid"] for d in deployments for r in d["replica_states"] if r["pid"]]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("supervised"))
    yield server
    server.stop()


def test_worker_killed_mid_stream(own_server):
    server = own_server
    with server.client() as admin:
        [pid] = replica_pids(admin)
        stream = server.openai().chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Tell me a very long story."}],
            max_tokens=1000, stream=True)
        received = 0
        with pytest.raises(openai.APIError) as err:
            for chunk in stream:
                received += 1
                if received == 3:
                    os.kill(pid, signal.SIGKILL)
        assert "worker" in str(err.value.message)  # a clean error that says what failed

        health = server.wait_healthy(timeout=120)  # the supervisor brings a new replica up
        assert health["deployments"][0]["replicas_ready"] == 1
        [new_pid] = replica_pids(admin)
        assert new_pid != pid
        deployment = admin.get("/api/deployments").json()["data"][0]
        assert deployment["replica_states"][0]["restarts"] >= 1

    reply = server.openai().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}],
                                                    max_tokens=4)
    assert reply.usage.completion_tokens > 0
    with server.client() as admin:  # the cut stream was metered as an error with what it generated
        rows = admin.get("/api/usage", params={"group_by": "model"}).json()["data"]
        [row] = [r for r in rows if r["model"] == MODEL]
        assert row["errors"] >= 1 and row["requests"] >= 2 and row["completion_tokens"] >= 3


def test_sigterm_stops_the_server_and_its_workers(tmp_path):
    server = start_server(tmp_path / "home")
    with server.client() as admin:
        pids = replica_pids(admin)
    assert pids and all(alive(p) for p in pids)
    # uvicorn finishes its graceful shutdown, then re-raises SIGTERM as the exit status.
    assert server.stop() in (0, -signal.SIGTERM)
    assert "Traceback" not in server.log()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids)


def test_no_default_model_then_deploy(tmp_path):
    server = start_server(tmp_path / "home", "--no-default-model", wait=False)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"{server.url}/health")
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert response.status_code == 503 and "no deployment" in response.json()["reason"]
        with server.client() as admin:
            refused = admin.post("/v1/chat/completions", json={
                "model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
            assert refused.status_code == 503 and refused.json()["error"]["code"] == "model_not_deployed"
            created = admin.post("/api/deployments", json={"model": MODEL, "replicas": 1, "n_ctx": 1024})
            assert created.status_code == 201, created.text
            server.wait_healthy(timeout=120)
            reply = admin.post("/v1/chat/completions", json={
                "model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3})
            assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] > 0

            # Scaling adds a replica beside the running one, then removes it again; the first keeps its process.
            url = f"/api/deployments/{created.json()['id']}"
            first_pid = admin.get(url).json()["replica_states"][0]["pid"]
            assert admin.patch(url, json={"replicas": 9}).json()["error"]["param"] == "replicas"
            assert admin.patch(url, json={"replicas": 2}).json()["replicas"] == 2
            deadline = time.monotonic() + 120
            while admin.get(url).json()["replicas_ready"] < 2:
                assert time.monotonic() < deadline, admin.get(url).json()
                time.sleep(0.2)
            scaled = admin.patch(url, json={"replicas": 1}).json()
            assert scaled["replicas"] == 1 and [r["pid"] for r in scaled["replica_states"]] == [first_pid]

            stopped = admin.delete(url)
            assert stopped.json()["status"] == "stopped"
            assert httpx.get(f"{server.url}/health").status_code == 503
    finally:
        server.stop()
