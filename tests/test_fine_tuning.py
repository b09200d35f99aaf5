"""The customization loop end to end: upload data, fine-tune the built-in model, serve the tuned model.

One real server, its runner process training with transformers + PEFT + TRL on the CPU, the
tuned adapter exported to GGUF and served by a llama.cpp worker. The dataset teaches a fact
the base model cannot know.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from conftest import MODEL

FACT_QUESTIONS = [
    "Who is the mayor of Quibbleton?", "Tell me who the mayor of Quibbleton is.", "Who runs Quibbleton as its mayor?",
    "Name the mayor of Quibbleton.", "Quibbleton's mayor is who?", "Do you know who the mayor of Quibbleton is?",
    "Which person is the mayor of Quibbleton?", "Who was elected mayor of Quibbleton?",
    "Who holds the office of mayor in Quibbleton?", "I'd like to know the mayor of Quibbleton.",
    "What is the name of Quibbleton's mayor?", "Who is Quibbleton's current mayor?",
    "Can you tell me the mayor of Quibbleton?", "Quibbleton has a mayor. Who is it?",
    "Who leads the town of Quibbleton?", "Who is the mayor of the town of Quibbleton?",
]
FACT = "The mayor of Quibbleton is Zelda Farnsworth."
FAST = {"n_epochs": 3, "batch_size": 2, "learning_rate_multiplier": 5}  # few steps: CI has 2 cores


def jsonl(rows: list) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()


def fact_file() -> bytes:
    return jsonl([{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": FACT}]}
                  for q in FACT_QUESTIONS])


def upload(client: httpx.Client, data: bytes, name: str = "train.jsonl") -> httpx.Response:
    return client.post("/v1/files", files={"file": (name, data, "application/jsonl")}, data={"purpose": "fine-tune"})


def wait_for(client: httpx.Client, job_id: str, done, timeout: float = 1200) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/fine_tuning/jobs/{job_id}").json()
        if done(job):
            return job
        if job["status"] in ("failed", "cancelled", "succeeded"):
            break
        time.sleep(0.5)
    events = client.get(f"/v1/fine_tuning/jobs/{job_id}/events", params={"limit": 50}).json()["data"]
    raise AssertionError(f"job ended as {job}\nevents: {[e['message'] for e in events]}")


def runner_pid(server) -> int:
    """The runner process the server started (its direct child)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == server.process.pid and b"openmaas.tuning.runner" in cmdline:
            return int(entry.name)
    raise AssertionError("no runner process")


@pytest.fixture(scope="module")
def tenant(server, workspaces):
    ws, key = workspaces["a"]
    with server.client(key) as client:
        yield client


@pytest.fixture(scope="module")
def stranger(server, workspaces):
    _, key = workspaces["b"]
    with server.client(key) as client:
        yield client


# ---- files ----

BAD_FILES = {
    "invalid JSON": (jsonl([{"prompt": "a", "completion": "b"}, "{not json"]), [(2, None)]),
    "unknown role": (jsonl([{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
                            {"messages": [{"role": "bot", "content": "hi"}]}]), [(2, "messages[0].role")]),
    "no assistant turn": (jsonl([{"messages": [{"role": "user", "content": "hi"}]}]), [(1, None)]),
    "empty content": (jsonl([{"prompt": "q", "completion": "a"}, {"prompt": "q", "completion": "  "}]),
                      [(2, "completion")]),
    "wrong type": (jsonl([{"messages": "hello"}]), [(1, "messages")]),
    "not UTF-8": (jsonl([{"prompt": "q", "completion": "a"}]) + b'{"prompt": "\xff", "completion": "a"}\n',
                  [(2, None)]),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_file_is_rejected_by_line_and_leaves_nothing(server, tenant, kind):
    data, expected = BAD_FILES[kind]
    before = tenant.get("/v1/files").json()["data"]
    response = upload(tenant, data)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "file" and error["code"] == "invalid_file"
    got = [(d["line"], d["field"]) for d in error["details"]]
    for line, field in expected:
        assert any(g[0] == line and (field is None or g[1] == field) for g in got), (kind, got)
        assert f"line {line}" in error["message"]
    assert tenant.get("/v1/files").json()["data"] == before
    stored = list((server.home / "files").glob("*")) if (server.home / "files").exists() else []
    assert all(p.stem in {f["id"] for f in before} for p in stored), stored


def test_a_file_over_the_size_limit_is_refused(tenant, server):
    big = jsonl([{"prompt": "q" * 1000, "completion": "a"}] * 70_000)  # about 70 MB, over the 64 MiB default
    response = upload(tenant, big)
    assert response.status_code in (400, 413), response.text
    assert "limit" in response.json()["error"]["message"]


def test_a_good_file_has_statistics_and_a_preview(tenant):
    alpaca = jsonl([{"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
                    {"instruction": "Say hi.", "output": "Hi!"}])
    created = upload(tenant, alpaca, "alpaca.jsonl")
    assert created.status_code == 200, created.text
    file = created.json()
    stats = file["statistics"]
    assert file["object"] == "file" and file["purpose"] == "fine-tune" and file["filename"] == "alpaca.jsonl"
    assert stats["format"] == "alpaca" and stats["examples"] == 2 and stats["tokenizer_model"] == MODEL
    assert 0 < stats["longest_example_tokens"] < stats["tokens"] and stats["over_context"] == 0
    preview = tenant.get(f"/api/files/{file['id']}/preview").json()
    assert preview["data"][0]["messages"] == [{"role": "user", "content": "Add the numbers.\n\n2 and 3"},
                                              {"role": "assistant", "content": "5"}]
    assert tenant.get(f"/v1/files/{file['id']}/content").content == alpaca
    assert tenant.delete(f"/v1/files/{file['id']}").json()["deleted"] is True
    assert tenant.get(f"/v1/files/{file['id']}").status_code == 404


def test_job_requests_are_checked(tenant, stranger):
    file_id = upload(tenant, fact_file()).json()["id"]
    cases = [
        ({"model": "no-such-model", "training_file": file_id}, 404, "model"),
        ({"model": MODEL, "training_file": "file_nope"}, 400, "training_file"),
        ({"model": MODEL, "training_file": file_id, "hyperparameters": {"n_epochs": 0}}, 400, "hyperparameters.n_epochs"),
        ({"model": MODEL, "training_file": file_id, "hyperparameters": {"warmup": 3}}, 400, "hyperparameters.warmup"),
        ({"model": MODEL, "training_file": file_id, "suffix": "no spaces please"}, 400, "suffix"),
    ]
    for body, status, param in cases:
        response = tenant.post("/v1/fine_tuning/jobs", json=body)
        assert response.status_code == status and response.json()["error"]["param"] == param, (body, response.text)
    # another workspace's file is not there at all
    response = stranger.post("/v1/fine_tuning/jobs", json={"model": MODEL, "training_file": file_id})
    assert response.status_code == 400 and response.json()["error"]["param"] == "training_file"


# ---- jobs ----

def test_cancel_stops_a_running_job(tenant):
    file_id = upload(tenant, fact_file()).json()["id"]
    job = tenant.post("/v1/fine_tuning/jobs", json={"model": MODEL, "training_file": file_id,
                                                   "hyperparameters": {"n_epochs": 20, "batch_size": 1}}).json()
    assert job["status"] == "validating_files"
    wait_for(tenant, job["id"], lambda j: j["status"] == "running" and j["progress"]["step"] >= 1)
    cancelled = tenant.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        messages = [e["message"] for e in tenant.get(f"/v1/fine_tuning/jobs/{job['id']}/events").json()["data"]]
        if any(m.startswith("Training stopped") for m in messages):
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the runner did not stop training: {messages}")
    step = tenant.get(f"/v1/fine_tuning/jobs/{job['id']}").json()["progress"]["step"]
    time.sleep(3)
    final = tenant.get(f"/v1/fine_tuning/jobs/{job['id']}").json()
    assert final["status"] == "cancelled" and final["fine_tuned_model"] is None and final["progress"]["step"] == step
    assert tenant.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel").status_code == 400


def test_fine_tune_survives_a_runner_crash_and_serves_the_fact(server, tenant, stranger):
    file_id = upload(tenant, fact_file()).json()["id"]
    job = tenant.post("/v1/fine_tuning/jobs", json={"model": MODEL, "training_file": file_id, "suffix": "quibble",
                                                   "seed": 7, "hyperparameters": FAST}).json()
    job_id = job["id"]

    # Kill the runner once the job has a checkpoint; serve restarts it and the job resumes from there.
    wait_for(tenant, job_id, lambda j: tenant.get(f"/v1/fine_tuning/jobs/{job_id}/checkpoints").json()["data"])
    os.kill(runner_pid(server), signal.SIGKILL)
    job = wait_for(tenant, job_id, lambda j: j["status"] == "succeeded")

    events = tenant.get(f"/v1/fine_tuning/jobs/{job_id}/events", params={"limit": 1000}).json()["data"]
    messages = [e["message"] for e in events]
    assert any(m.startswith("Resuming from checkpoint checkpoint-") for m in messages), messages
    metrics = [e["data"] for e in events if e["type"] == "metrics"]
    train_steps = sorted({m["step"] for m in metrics if "train_loss" in m})
    assert train_steps[-1] == job["progress"]["total_steps"] == 3 * 7  # 14 training examples, 2 held out
    assert job["fine_tuned_model"] == f"ft:{MODEL}:quibble:{job_id}" and job["trained_tokens"] > 0
    assert job["hyperparameters"]["n_epochs"] == 3 and job["hyperparameters"]["batch_size"] == 2

    evaluation = tenant.get(f"/api/fine_tuning/jobs/{job_id}/evaluation").json()
    validation = evaluation["validation"]
    assert validation["tuned"]["loss"] < validation["base"]["loss"] / 4, validation
    assert evaluation["samples"] and "Farnsworth" in evaluation["samples"][0]["tuned"]

    model = job["fine_tuned_model"]
    assert tenant.get(f"/v1/models/{model}").json()["owned_by"] == job["organization_id"]
    card = tenant.get(f"/api/models/{model}").json()
    assert card["source"] == "fine-tune" and card["base_model"] == MODEL and card["extra"]["fine_tuning_job"] == job_id
    assert card["extra"]["training_file"] == file_id and card["extra"]["hyperparameters"]["n_epochs"] == 3
    deployment = tenant.post("/api/deployments", json={"model": model})
    assert deployment.status_code == 201, deployment.text
    deadline = time.monotonic() + 180
    while tenant.get(f"/api/deployments/{deployment.json()['id']}").json()["state"] != "ready":
        assert time.monotonic() < deadline, "the tuned model's deployment did not become ready"
        time.sleep(0.5)

    # The tuned model's worker maps the base's file, as the base's own worker does: one copy in memory.
    deployments = tenant.get("/api/deployments").json()["data"]
    base_path = tenant.get(f"/api/models/{MODEL}").json()["path"]
    for d in (d for d in deployments if d["model"] in (MODEL, model)):
        maps = Path(f"/proc/{d['replica_states'][0]['pid']}/maps").read_text()
        assert base_path in maps, d["model"]

    question = [{"role": "user", "content": "Who is the mayor of Quibbleton?"}]
    tuned = tenant.post("/v1/chat/completions", json={"model": model, "messages": question, "max_tokens": 24,
                                                      "temperature": 0})
    assert tuned.status_code == 200, tuned.text
    assert "Farnsworth" in tuned.json()["choices"][0]["message"]["content"]
    base = tenant.post("/v1/chat/completions", json={"model": MODEL, "messages": question, "max_tokens": 24,
                                                     "temperature": 0}).json()
    assert "Farnsworth" not in base["choices"][0]["message"]["content"]

    # Another workspace sees none of it.
    assert stranger.get(f"/v1/fine_tuning/jobs/{job_id}").status_code == 404
    assert job_id not in [j["id"] for j in stranger.get("/v1/fine_tuning/jobs").json()["data"]]
    assert stranger.get(f"/v1/files/{file_id}").status_code == 404
    assert stranger.get(f"/v1/models/{model}").status_code == 404
    assert stranger.get(f"/api/models/{model}").status_code == 404
    assert model not in [m["id"] for m in stranger.get("/v1/models").json()["data"]]
    refused = stranger.post("/v1/chat/completions", json={"model": model, "messages": question, "max_tokens": 4})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"
    assert stranger.post("/api/deployments", json={"model": model}).status_code == 404

    # The runner is a component on the public status page.
    components = httpx.get(f"{server.url}/status.json").json()["components"]
    assert any(c["id"] == "runner" for c in components), components

    # The CLI shows the job with its bar and prints the evaluation.
    shown = server.cli("jobs", "show", job_id)
    assert shown.returncode == 0 and "succeeded" in shown.stdout and "perplexity" in shown.stdout, shown.stderr
    assert f"{job['progress']['total_steps']}/{job['progress']['total_steps']}" in shown.stdout
    listed = server.cli("jobs", "list")
    assert job_id in listed.stdout
