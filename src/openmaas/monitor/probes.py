"""The probes: is the gateway answering, does the database answer, can each replica complete a token.

A deployment is judged replica by replica: liveness (its process exists), readiness (the
supervisor's state and the engine's own /health), and every `synthetic_interval_s` a
one-token completion sent straight to the replica's POST /generate, timed to its "done"
line. Going to the replica, not through the gateway's /v1, tells which replica fails,
needs no internal API key, and leaves tenants' usage alone; the gateway itself is probed
separately, so together they cover the whole path. A replica that generated tokens for
real requests since the last look has just proven the same path: it counts as a passing
probe and its synthetic waits, so a busy replica gets no extra work.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

import anyio
import httpx
from sqlalchemy import text

from openmaas.db.session import Database
from openmaas.monitor.components import Component, ProbeResult
from openmaas.monitor.states import DEGRADED, MAJOR, OPERATIONAL, PARTIAL
from openmaas.workers.supervisor import Replica, RunningDeployment, Supervisor

SYNTHETIC_PROMPT = "ping"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 2)


def loopback_url(host: str, port: int) -> str:
    """Where this process's own API answers: a wildcard bind is reached on loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class GatewayProbe:
    """GET /health on our own listening socket, timed: any answer means the gateway serves HTTP.

    A refused connection is not reported: the monitor runs in the gateway's process, so
    while it runs the socket is closed only before uvicorn binds it or after a shutdown
    began. A gateway that is gone altogether is for an outside probe to see.
    """

    def __init__(self, client: httpx.AsyncClient, base_url: str, degraded_ms: float, timeout_s: float = 10.0):
        self.client, self.url, self.degraded_ms, self.timeout_s = client, f"{base_url}/health", degraded_ms, timeout_s

    async def __call__(self) -> ProbeResult | None:
        started = time.perf_counter()
        try:
            await self.client.get(self.url, timeout=self.timeout_s)
        except httpx.ConnectError:
            return None
        except httpx.HTTPError as exc:
            return ProbeResult(MAJOR, None, f"the API did not answer: {type(exc).__name__}")
        latency = _ms(started)
        if latency > self.degraded_ms:
            return ProbeResult(DEGRADED, latency, f"the API answered in {latency:.0f} ms")
        return ProbeResult(OPERATIONAL, latency)


class DatabaseProbe:
    """SELECT 1, in a thread."""

    def __init__(self, db: Database, degraded_ms: float):
        self.db, self.degraded_ms = db, degraded_ms

    def _ping(self) -> None:
        with self.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def __call__(self) -> ProbeResult:
        started = time.perf_counter()
        try:
            await anyio.to_thread.run_sync(self._ping)
        except Exception as exc:
            return ProbeResult(MAJOR, None, f"the database does not answer: {type(exc).__name__}: {exc}"[:500])
        latency = _ms(started)
        if latency > self.degraded_ms:
            return ProbeResult(DEGRADED, latency, f"the database answered in {latency:.0f} ms")
        return ProbeResult(OPERATIONAL, latency)


@dataclass(frozen=True)
class Synthetic:
    pid: int | None
    ok: bool
    busy: bool  # the replica refused with 429: up, but at capacity
    latency_ms: float | None
    error: str
    at: float  # monotonic
    timed_out: bool = False


async def synthetic_completion(client: httpx.AsyncClient, replica_url: str, timeout_s: float,
                               pid: int | None) -> Synthetic:
    """A one-token completion through the replica's engine."""
    started = time.perf_counter()
    body = {"prompt": SYNTHETIC_PROMPT, "max_tokens": 1, "temperature": 0.0}

    def result(ok: bool, error: str = "", busy: bool = False, timed_out: bool = False) -> Synthetic:
        return Synthetic(pid, ok, busy, _ms(started) if ok else None, error, time.monotonic(), timed_out)

    try:
        with anyio.fail_after(timeout_s):
            async with client.stream("POST", f"{replica_url}/generate", json=body, timeout=timeout_s) as response:
                if response.status_code == 429:
                    await response.aread()
                    return result(True, "at capacity (429)", busy=True)
                if response.status_code != 200:
                    await response.aread()
                    return result(False, f"POST /generate answered {response.status_code}: {response.text[:200]}")
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    kind = json.loads(line).get("kind")
                    if kind == "done":
                        return result(True)
                    if kind == "error":
                        return result(False, f"the engine failed: {json.loads(line).get('message', '')}"[:300])
                return result(False, "the stream ended before the completion did")
    except TimeoutError:
        return result(False, f"no completion within {timeout_s:.0f} s", timed_out=True)
    except (httpx.HTTPError, ValueError) as exc:
        return result(False, f"{type(exc).__name__}: {exc}"[:300])


@dataclass(frozen=True)
class ReplicaView:
    """What the monitor knows of one replica at one moment."""

    index: int
    state: str  # the supervisor's: starting | loading | ready | restarting | stopped
    restarts: int
    alive: bool
    last_error: str = ""
    synthetic: Synthetic | None = None


def replica_status(view: ReplicaView, degraded_ms: float) -> tuple[str | None, str]:
    """('up' | 'degraded' | 'down', why) for one replica; None for one not to count (first start, stopping)."""
    if view.state == "stopped" or (view.restarts == 0 and view.state in ("starting", "loading")):
        return None, "starting"
    if view.state == "ready" and view.alive:
        s = view.synthetic
        if s is not None and not s.ok:
            return "down", f"replica {view.index}: synthetic completion failed ({s.error})"
        if s is not None and s.busy:
            return "degraded", f"replica {view.index}: at capacity"
        if s is not None and s.latency_ms is not None and s.latency_ms > degraded_ms:
            return "degraded", f"replica {view.index}: one token took {s.latency_ms:.0f} ms"
        return "up", ""
    if view.last_error and view.state in ("restarting", "starting", "loading"):
        return "down", f"replica {view.index} {view.state}"  # the cause says why
    why = view.last_error or ("process not running" if not view.alive else view.state)
    return "down", f"replica {view.index} {view.state}: {why}"


def deployment_result(views: Iterable[ReplicaView], degraded_ms: float) -> ProbeResult | None:
    """A deployment's state from its replicas: none answering is a major outage, half or more a partial one."""
    views = list(views)
    judged = [(v, *replica_status(v, degraded_ms)) for v in views]
    counted = [(v, status, why) for v, status, why in judged if status is not None]
    if not counted:
        return None
    down = [(v, why) for v, status, why in counted if status == "down"]
    slow = [why for _, status, why in counted if status == "degraded"]
    n = len(counted)
    if len(down) == n:
        state = MAJOR
    elif 2 * len(down) >= n:
        state = PARTIAL
    elif down or slow:
        state = DEGRADED
    else:
        state = OPERATIONAL
    latencies = [v.synthetic.latency_ms for v, status, _ in counted
                 if status != "down" and v.synthetic is not None and v.synthetic.latency_ms is not None]
    up = n - len(down)
    detail = f"{up}/{n} replicas answering"
    reasons = [why for _, why in down] + slow
    if reasons:
        detail += "; " + "; ".join(reasons)
    # A replica the supervisor saw die or fail to load is a known cause; a failed probe alone is not.
    causes = [f"replica {v.index} stopped ({v.last_error}); the supervisor is restarting it" for v, _ in down
              if v.last_error and v.state in ("restarting", "starting", "loading")]
    return ProbeResult(state, max(latencies) if latencies else None, detail[:1000], "; ".join(causes)[:1000])


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DeploymentProbes:
    """The component source for deployments: one component per running deployment, probed replica by replica."""

    def __init__(self, supervisor: Supervisor, client: httpx.AsyncClient, *, synthetic_interval_s: float,
                 degraded_ms: float, timeout_s: float = 15.0):
        self.supervisor, self.client = supervisor, client
        self.synthetic_interval_s, self.degraded_ms, self.timeout_s = synthetic_interval_s, degraded_ms, timeout_s
        self.synthetics: dict[tuple[str, int], Synthetic] = {}
        self.progress: dict[tuple[str, int], tuple[int | None, int]] = {}  # (pid, tokens generated) last seen

    def __call__(self) -> list[Component]:
        running = list(self.supervisor.deployments.values())
        ids = {d.spec.id for d in running}
        for table in (self.synthetics, self.progress):
            for key in [k for k in table if k[0] not in ids]:
                del table[key]
        return [Component(d.spec.id, d.spec.model_id, "deployment", d.spec.workspace_id, self._probe_for(d.spec.id))
                for d in running]

    def _probe_for(self, deployment_id: str):
        async def probe() -> ProbeResult | None:
            running = self.supervisor.deployments.get(deployment_id)
            return None if running is None else await self.probe(running)
        return probe

    def _served(self, key: tuple[str, int], replica: Replica) -> bool:
        """Has the replica generated tokens since the last look (real traffic, or our own probe)?"""
        health = replica.health
        if health is None or health.status != "ready":
            return False
        before = self.progress.get(key)
        self.progress[key] = (replica.pid, health.generated_tokens)
        return before is not None and before[0] == replica.pid and health.generated_tokens > before[1]

    def _slow(self, result: Synthetic) -> bool:
        return result.busy or (result.latency_ms is not None and result.latency_ms > self.degraded_ms)

    def _due(self, key: tuple[str, int], replica: Replica) -> bool:
        last = self.synthetics.get(key)
        return (last is None or last.pid != replica.pid or not last.ok or self._slow(last)
                or time.monotonic() - last.at >= self.synthetic_interval_s)

    async def probe(self, running: RunningDeployment) -> ProbeResult | None:
        replicas = list(running.replicas)
        due = []
        for r in replicas:
            key = (running.spec.id, r.index)
            if r.state != "ready":
                continue
            if self._served(key, r):  # it just answered someone: as good as a probe, keeping the last timing
                last = self.synthetics.get(key)
                keep = last is not None and last.pid == r.pid and last.ok and not self._slow(last)
                self.synthetics[key] = Synthetic(r.pid, True, False, last.latency_ms if keep else None, "",
                                                 time.monotonic())
            elif self._due(key, r):
                due.append(r)
        if due:
            results = {}

            async def run(replica: Replica) -> None:
                result = await synthetic_completion(self.client, replica.url, self.timeout_s, replica.pid)
                if (not result.ok and not result.timed_out) or self._slow(result):
                    # Confirm before reporting: the first token after a load is slow, one blip is not an outage.
                    result = await synthetic_completion(self.client, replica.url, self.timeout_s, replica.pid)
                results[replica.index] = result

            async with anyio.create_task_group() as group:
                for replica in due:
                    group.start_soon(run, replica)
            for index, result in results.items():
                self.synthetics[(running.spec.id, index)] = result
        views = []
        for r in replicas:
            synthetic = self.synthetics.get((running.spec.id, r.index))
            if synthetic is not None and synthetic.pid != r.pid:
                synthetic = None  # a result about a process that is gone
            views.append(ReplicaView(r.index, r.state, r.restarts, _alive(r.pid), r.last_error, synthetic))
        return deployment_result(views, self.degraded_ms)
