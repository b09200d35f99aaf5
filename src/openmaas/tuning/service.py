"""The runner process, kept alive by `serve` like the workers: restarted with backoff when it dies.

On shutdown it gets SIGTERM and time to checkpoint the job it is training before SIGKILL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

from openmaas.config import Settings
from openmaas.monitor.components import ProbeResult
from openmaas.tuning.runner import SETTINGS_ENV
from openmaas.workers.processes import terminate_group

log = logging.getLogger("openmaas.runner")

CHECKPOINT_GRACE_S = 60.0  # a step and a checkpoint, even on a slow machine
STABLE_AFTER_S = 30.0


class RunnerService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.last_error = ""
        self._task: asyncio.Task | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.returncode is None else None

    async def probe(self) -> ProbeResult | None:
        """The monitor's view: the runner is up when its process is alive."""
        if self.process is None and not self.restarts:
            return None  # not started yet: nothing to report
        if self.pid is not None:
            return ProbeResult("operational", detail=f"runner process {self.pid}")
        return ProbeResult("major_outage", detail=self.last_error or "the runner is not running",
                           cause=self.last_error or "the runner process is not running")

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_running(), name="fine-tuning-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _keep_running(self) -> None:
        backoff = self.settings.restart_backoff_s
        try:
            while True:
                started = time.monotonic()
                # Settings go by environment, not argv: they may hold the SMTP password.
                env = {**os.environ, SETTINGS_ENV: self.settings.model_dump_json()}
                self.process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "openmaas.tuning.runner", env=env,
                    stdout=asyncio.subprocess.DEVNULL, stderr=None, start_new_session=True)
                code = await self.process.wait()
                self.last_error = f"runner exited with code {code}"
                self.restarts += 1
                if time.monotonic() - started > STABLE_AFTER_S:
                    backoff = self.settings.restart_backoff_s
                log.warning("%s; restarting in %.1fs", self.last_error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.settings.restart_backoff_max_s)
        finally:
            await self._terminate()

    async def _terminate(self) -> None:
        process, self.process = self.process, None
        await terminate_group(process, grace_s=CHECKPOINT_GRACE_S)
