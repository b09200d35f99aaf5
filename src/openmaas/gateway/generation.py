"""One metered generation through the gateway: resolve the model, open a stream on a
replica, hand out the text, and record usage exactly once.

Chat and legacy completions differ only in how they shape requests and responses, so
both routes drive this class.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse

from openmaas.errors import EngineError, OpenMaaSError
from openmaas.gateway.auth import Caller
from openmaas.gateway.meter import Meter
from openmaas.gateway.routing import WorkerStream, open_stream, pick_replica
from openmaas.hub.registry import get_model
from openmaas.workers.protocol import GenerateRequest

CLIENT_CLOSED_REQUEST = 499  # recorded when the client hangs up mid-stream


class Generation:
    def __init__(self, request: Request, caller: Caller, model_id: str, body: GenerateRequest):
        self._app = request.app
        self.caller = caller
        self.model_id = model_id
        self.body = body
        self.meter: Meter = request.state.meter
        self.meter.model_id = model_id
        self.finish_reason: str | None = None
        self._stream: WorkerStream | None = None

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
        self._stream = await open_stream(self._app.state.http, replica, self.body)
        self.meter.prompt_tokens = self._stream.prompt_tokens

    async def deltas(self) -> AsyncIterator[str]:
        async for line in self._stream:
            if line.kind == "delta":
                self.meter.first_token()
                self.meter.completion_tokens += line.tokens
                if line.text:
                    yield line.text
            elif line.kind == "done":
                self.finish_reason = line.finish_reason
                return
            elif line.kind == "error":
                raise EngineError(line.message)
        raise EngineError("The model's worker ended the stream without finishing the answer.")

    async def text(self) -> str:
        """The whole answer, recorded before the caller builds its response."""
        try:
            text = "".join([piece async for piece in self.deltas()])
        finally:
            await self.aclose()
        await self.meter.record(200)
        return text

    def stream(self, events: Callable[[], AsyncIterator[dict]]) -> StreamingResponse:
        """Server-sent events from `events()`, ending in [DONE] or an error event."""
        self.meter.deferred = True

        async def body() -> AsyncIterator[str]:
            try:
                async for event in events():
                    yield f"data: {json.dumps(event, separators=(',', ':'))}\n\n"
                await self.meter.record(200)
                yield "data: [DONE]\n\n"
            except OpenMaaSError as exc:
                await self.meter.record(exc.status_code)
                yield f"data: {json.dumps(exc.to_dict())}\n\n"
            finally:
                await self.aclose()
                await self.meter.record(CLIENT_CLOSED_REQUEST)

        return StreamingResponse(body(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def aclose(self) -> None:
        if self._stream is not None:
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()
