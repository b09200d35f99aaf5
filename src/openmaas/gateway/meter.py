"""Per-request metering: every authenticated API call leaves one usage record.

The auth dependency opens a `Meter` on the request. Calls that generate fill in tokens
and latency and record themselves before their response closes; for every other call
`MeteringMiddleware` records the status code just before the response starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import anyio

from openmaas.db.session import Database
from openmaas.gateway.metering import record_usage


@dataclass
class Meter:
    db: Database
    workspace_id: str
    key_id: str
    endpoint: str
    model_id: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_ms: float | None = None
    started: float = field(default_factory=time.perf_counter)
    recorded: bool = False
    deferred: bool = False  # a stream records itself when it ends

    def first_token(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000

    async def record(self, status_code: int) -> None:
        """Write the record once; shielded so a client that hangs up cannot cancel it."""
        if self.recorded:
            return
        self.recorded = True
        latency_ms = (time.perf_counter() - self.started) * 1000
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._write, status_code, latency_ms)

    def _write(self, status_code: int, latency_ms: float) -> None:
        with self.db.session() as session:
            record_usage(session, workspace_id=self.workspace_id, key_id=self.key_id, model_id=self.model_id,
                         endpoint=self.endpoint, prompt_tokens=self.prompt_tokens,
                         completion_tokens=self.completion_tokens, ttft_ms=self.ttft_ms,
                         latency_ms=latency_ms, status_code=status_code)


class MeteringMiddleware:
    """Records calls that did not record themselves, as their response starts."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_and_meter(message):
            if message["type"] == "http.response.start":
                meter: Meter | None = scope.get("state", {}).get("meter")
                if meter is not None and not meter.deferred:
                    await meter.record(message["status"])
            await send(message)

        await self.app(scope, receive, send_and_meter)
