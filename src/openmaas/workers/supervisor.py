"""Starts worker processes, watches them, and restarts the ones that die.

Each replica is an asyncio task looping: start the process, wait for its port and its
engine, health-check it, and when it exits or stops answering, start it again after a
backoff that doubles up to a cap and resets once a replica has been healthy for a while.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import time
from dataclasses import dataclass, field

import httpx

from openmaas.config import Settings
from openmaas.workers.processes import terminate_group
from openmaas.workers.protocol import WorkerHealth
from openmaas.workers.worker import PORT_ANNOUNCEMENT

log = logging.getLogger("openmaas.supervisor")

HEALTH_FAILURES_BEFORE_RESTART = 3
STABLE_AFTER_S = 30.0  # a replica healthy this long has its backoff reset


@dataclass(frozen=True)
class DeploymentSpec:
    id: str
    model_id: str
    model_path: str
    replicas: int
    n_ctx: int
    workspace_id: str | None = None
    slots: int = 8  # sequences one replica decodes together
    max_waiting: int = 64  # requests queued per replica before 429
    max_queue_wait_s: float = 30.0  # a queued request waiting longer gets 429
    lora_path: str | None = None  # a tuned model: its adapter, applied over the base at model_path


@dataclass
class Replica:
    deployment_id: str
    index: int
    state: str = "starting"  # starting | loading | ready | restarting | stopped
    pid: int | None = None
    port: int | None = None
    restarts: int = 0
    last_error: str = ""
    ready_since: float | None = None
    health: WorkerHealth | None = None  # the last probe's answer
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class RunningDeployment:
    spec: DeploymentSpec
    replicas: list[Replica]
    tasks: list[asyncio.Task]
    _next: itertools.count = field(default_factory=itertools.count)

    def ready_replicas(self) -> list[Replica]:
        return [r for r in self.replicas if r.state == "ready"]

    def pick(self) -> Replica | None:
        ready = self.ready_replicas()
        return ready[next(self._next) % len(ready)] if ready else None

    @property
    def state(self) -> str:
        ready = len(self.ready_replicas())
        if ready == len(self.replicas):
            return "ready"
        return "degraded" if ready else "unavailable"


class Supervisor:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.deployments: dict[str, RunningDeployment] = {}
        self._client = httpx.AsyncClient(timeout=5.0)

    async def deploy(self, spec: DeploymentSpec) -> RunningDeployment:
        if spec.id in self.deployments:
            await self.undeploy(spec.id)
        replicas = [Replica(spec.id, i) for i in range(spec.replicas)]
        tasks = [asyncio.create_task(self._keep_running(spec, r), name=f"replica-{spec.id}-{r.index}") for r in replicas]
        running = RunningDeployment(spec, replicas, tasks)
        self.deployments[spec.id] = running
        return running

    async def scale(self, spec: DeploymentSpec) -> RunningDeployment:
        """Start or stop replicas to reach `spec.replicas`; the ones that keep running are not touched."""
        running = self.deployments.get(spec.id)
        if running is None:
            return await self.deploy(spec)
        current = len(running.replicas)
        for index in range(current, spec.replicas):
            replica = Replica(spec.id, index)
            running.replicas.append(replica)
            running.tasks.append(asyncio.create_task(self._keep_running(spec, replica),
                                                     name=f"replica-{spec.id}-{index}"))
        surplus = running.tasks[spec.replicas:]
        for task in surplus:
            task.cancel()
        await asyncio.gather(*surplus, return_exceptions=True)
        del running.replicas[spec.replicas:], running.tasks[spec.replicas:]
        running.spec = spec
        return running

    async def undeploy(self, deployment_id: str) -> None:
        running = self.deployments.pop(deployment_id, None)
        if running is None:
            return
        for task in running.tasks:
            task.cancel()
        await asyncio.gather(*running.tasks, return_exceptions=True)

    async def stop(self) -> None:
        for deployment_id in list(self.deployments):
            await self.undeploy(deployment_id)
        await self._client.aclose()

    def deployments_of(self, model_id: str) -> list[RunningDeployment]:
        return [d for d in self.deployments.values() if d.spec.model_id == model_id]

    async def _keep_running(self, spec: DeploymentSpec, replica: Replica) -> None:
        backoff = self.settings.restart_backoff_s
        try:
            while True:
                started = time.monotonic()
                try:
                    await self._run_once(spec, replica)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    replica.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("replica %s/%d stopped (%s); restarting in %.1fs",
                            spec.id, replica.index, replica.last_error, backoff)
                replica.state = "restarting"
                replica.ready_since = None
                replica.restarts += 1
                if time.monotonic() - started > STABLE_AFTER_S:
                    backoff = self.settings.restart_backoff_s
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.settings.restart_backoff_max_s)
        finally:
            replica.state = "stopped"
            await self._terminate(replica)

    async def _run_once(self, spec: DeploymentSpec, replica: Replica) -> None:
        """Start one worker process and watch it until it dies or stops answering."""
        replica.state = "starting"
        cmd = [sys.executable, "-m", "openmaas.workers.worker", "--model-id", spec.model_id,
               "--model-path", spec.model_path, "--n-ctx", str(spec.n_ctx), "--slots", str(spec.slots),
               "--max-waiting", str(spec.max_waiting), "--max-queue-wait", str(spec.max_queue_wait_s)]
        if self.settings.n_threads:
            cmd += ["--threads", str(self.settings.n_threads)]
        if spec.lora_path:
            cmd += ["--lora-path", spec.lora_path]
        process = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=None, start_new_session=True
        )
        replica.process, replica.pid, replica.port = process, process.pid, None
        try:
            replica.port = await asyncio.wait_for(self._read_port(process), self.settings.worker_start_timeout_s)
            replica.state = "loading"
            asyncio.create_task(self._drain(process.stdout))  # a full pipe would block the worker
            await self._watch(replica, process)
        finally:
            await self._terminate(replica)

    async def _read_port(self, process: asyncio.subprocess.Process) -> int:
        while line := await process.stdout.readline():
            text = line.decode(errors="replace").strip()
            if text.startswith(PORT_ANNOUNCEMENT):
                return int(text[len(PORT_ANNOUNCEMENT):])
        raise RuntimeError(f"worker exited before announcing its port (exit code {await process.wait()})")

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def _watch(self, replica: Replica, process: asyncio.subprocess.Process) -> None:
        failures = 0
        loading_deadline = time.monotonic() + self.settings.worker_start_timeout_s
        exited = asyncio.create_task(process.wait())
        try:
            while True:
                done, _ = await asyncio.wait({exited}, timeout=self.settings.health_interval_s
                                             if replica.state == "ready" else 0.1)
                if done:
                    replica.last_error = f"worker exited with code {exited.result()}"
                    return
                health = replica.health = await self._probe(replica)
                if health is not None and health.status == "ready":
                    failures = 0
                    if replica.state != "ready":
                        replica.state, replica.ready_since = "ready", time.monotonic()
                        log.info("replica %s/%d ready on port %d", replica.deployment_id, replica.index, replica.port)
                elif health is not None and health.status == "failed":
                    replica.last_error = f"engine failed to load: {health.detail}"
                    return
                elif replica.state == "loading":
                    if time.monotonic() > loading_deadline:
                        replica.last_error = "engine did not become ready in time"
                        return
                else:
                    failures += 1
                    if failures >= HEALTH_FAILURES_BEFORE_RESTART:
                        replica.last_error = "worker stopped answering health checks"
                        return
        finally:
            exited.cancel()

    async def refresh(self) -> None:
        """Probe every ready replica now, so load figures are fresh (for /metrics)."""
        ready = [r for d in self.deployments.values() for r in d.ready_replicas()]
        healths = await asyncio.gather(*(self._probe(r) for r in ready))
        for replica, health in zip(ready, healths):
            if health is not None:
                replica.health = health

    async def _probe(self, replica: Replica) -> WorkerHealth | None:
        try:
            response = await self._client.get(f"{replica.url}/health")
            return WorkerHealth.model_validate(response.json())
        except Exception:
            return None

    async def _terminate(self, replica: Replica) -> None:
        """SIGTERM the worker's process group, then SIGKILL it if it lingers."""
        process, replica.process = replica.process, None
        if replica.state != "stopped":
            replica.state = "restarting"
        await terminate_group(process, grace_s=5.0)
