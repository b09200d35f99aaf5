"""One metered generation through the gateway: resolve the model, open a stream on a
replica, hand out the pieces of its choices, and record usage and metrics exactly once.

Chat and legacy completions differ only in how they shape requests and responses, so
both routes drive this class.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse

from openmaas.errors import EngineError, OpenMaaSError
from openmaas.gateway.auth import Caller
from openmaas.gateway.meter import Meter
from openmaas.gateway.routing import WorkerStream, open_stream, pick_replica
from openmaas.hub.registry import get_model
from openmaas.workers.protocol import GenerateRequest, TokenLogprobLine

CLIENT_CLOSED_REQUEST = 499  # recorded when the client hangs up mid-stream


@dataclass
class Piece:
    index: int
    text: str
    logprobs: list[TokenLogprobLine] | None


@dataclass
class Burst:
    """What one read from the worker brought: text pieces, and the choices it finished."""

    pieces: list[Piece] = field(default_factory=list)
    finished: dict[int, str] = field(default_factory=dict)  # choice index: finish reason


@dataclass
class Choice:
    text: str = ""
    finish_reason: str | None = None
    logprobs: list[TokenLogprobLine] = field(default_factory=list)


class Generation:
    def __init__(self, request: Request, caller: Caller, model_id: str, body: GenerateRequest):
        self._app = request.app
        self.caller = caller
        self.model_id = model_id
        self.body = body
        self.meter: Meter = request.state.meter
        self.meter.model_id = model_id
        self.finish_reasons: dict[int, str] = {}
        self.cached_tokens = 0
        self._stream: WorkerStream | None = None
        self._labels: tuple[str, str] | None = None
        self._last_token_at: float | None = None

    @property
    def prompt_tokens(self) -> int:
        return self.meter.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.meter.completion_tokens

    async def start(self) -> None:
        """Everything that can refuse the request happens here, before a response starts."""
        db = self._app.state.db

        def visible() -> None:
            with db.session() as session:
                get_model(session, self.model_id, self.caller.scope())

        await anyio.to_thread.run_sync(visible)
        replica = pick_replica(self._app.state.supervisor, self.model_id, self.caller.workspace_id)
        self._labels = (self.model_id, replica.deployment_id)
        try:
            self._stream = await open_stream(self._app.state.http, replica, self.body)
        except OpenMaaSError as exc:  # refused before any token (queue full, prompt too long): an outcome too
            self._app.state.metrics.requests.labels(*self._labels, str(exc.status_code)).inc()
            raise
        start = self._stream.start
        self.meter.prompt_tokens = start.prompt_tokens
        self.cached_tokens = start.cached_tokens
        self._metric("queue").observe(start.queue_ms / 1000)

    async def bursts(self) -> AsyncIterator[Burst]:
        """Text (and logprobs) of every choice as it comes, a read from the worker at a time,
        until each choice is done (`finish_reasons` holds them all)."""
        ttft, itl = self._metric("ttft"), self._metric("itl")
        async for lines in self._stream.batches():
            burst = Burst()
            for line in lines:
                if line.kind == "delta":
                    now = time.perf_counter()
                    if self.meter.ttft_ms is None:
                        self.meter.first_token()
                        ttft.observe(self.meter.ttft_ms / 1000)
                    elif line.tokens and self.body.n == 1:
                        itl.observe(now - self._last_token_at)
                    if line.tokens:
                        self._last_token_at = now
                    self.meter.completion_tokens += line.tokens
                    if line.text or line.logprobs:
                        burst.pieces.append(Piece(line.index, line.text, line.logprobs))
                elif line.kind == "done":
                    self.finish_reasons[line.index] = burst.finished[line.index] = line.finish_reason
                elif line.kind == "error":
                    raise EngineError(line.message)
            if len(self.finish_reasons) == self.body.n:
                await self._stream.drain()
                yield burst
                return
            yield burst
        raise EngineError("The model's worker ended the stream without finishing the answer.")

    async def choices(self) -> list[Choice]:
        """Every choice whole, recorded before the caller builds its response."""
        choices = [Choice() for _ in range(self.body.n)]
        try:
            async for burst in self.bursts():
                for piece in burst.pieces:
                    choices[piece.index].text += piece.text
                    choices[piece.index].logprobs += piece.logprobs or []
        finally:
            await self.aclose()
        for index, choice in enumerate(choices):
            choice.finish_reason = self.finish_reasons[index]
        await self.record(200)
        return choices

    def stream(self, events: Callable[[], AsyncIterator[list[dict]]]) -> StreamingResponse:
        """Server-sent events from `events()`, each list of them in one write, ending in
        [DONE] or an error event."""
        self.meter.deferred = True

        async def body() -> AsyncIterator[bytes]:
            try:
                async for batch in events():
                    if batch:
                        yield "".join(f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in batch).encode()
                await self.record(200)
                yield b"data: [DONE]\n\n"
            except OpenMaaSError as exc:
                await self.record(exc.status_code)
                yield f"data: {json.dumps(exc.to_dict())}\n\n".encode()
            finally:
                await self.aclose()
                await self.record(CLIENT_CLOSED_REQUEST)

        return StreamingResponse(body(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    def _metric(self, name: str):
        return getattr(self._app.state.metrics, name).labels(*self._labels)

    async def record(self, status_code: int) -> None:
        """Usage in the database and the request's metrics, once."""
        if self.meter.recorded:
            return
        metrics, labels = self._app.state.metrics, self._labels
        if labels is not None:
            metrics.requests.labels(*labels, str(status_code)).inc()
            metrics.prompt_tokens.labels(*labels).inc(self.meter.prompt_tokens)
            metrics.generated_tokens.labels(*labels).inc(self.meter.completion_tokens)
            if self.cached_tokens:
                metrics.prefix_cache_hits.labels(*labels).inc()
                metrics.prefix_cache_tokens.labels(*labels).inc(self.cached_tokens)
            metrics.e2e.labels(*labels).observe(time.perf_counter() - self.meter.started)
        await self.meter.record(status_code)

    async def aclose(self) -> None:
        if self._stream is not None:
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()
