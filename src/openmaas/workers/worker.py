"""A worker process: loads one model into an engine and serves the internal API on loopback.

Run by the supervisor as `python -m openmaas.workers.worker ...`. It binds an ephemeral
port itself and announces it on stdout as `OPENMAAS_WORKER_PORT=<port>`, so two workers
can never race for a port. Many requests run at once: the engine batches them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from openmaas.engines.base import (
    Engine,
    EngineEvent,
    EngineOverloaded,
    EngineRequest,
    RequestHandle,
    SamplingParams,
)
from openmaas.errors import ContextLengthExceeded, EngineError, InvalidRequest, ModelNotReady, OpenMaaSError, Overloaded
from openmaas.workers.protocol import GenerateRequest, StreamLine, TokenLogprobLine, WorkerHealth

PORT_ANNOUNCEMENT = "OPENMAAS_WORKER_PORT="


class EventRelay:
    """Engine events into the event loop's queues, waking the loop once per burst.

    The engine hands over a whole step's events from its own thread; one
    `call_soon_threadsafe` for all of them (instead of one per token) spares the loop a
    wake-up per stream and the engine thread a GIL hand-over per token.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[tuple[asyncio.Queue, EngineEvent]] = []

    def emit(self, queue: asyncio.Queue, event: EngineEvent) -> None:
        with self._lock:
            self._pending.append((queue, event))
            if len(self._pending) > 1:  # a wake-up is already on its way
                return
        self._loop.call_soon_threadsafe(self._hand_over)

    def _hand_over(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for queue, event in pending:
            queue.put_nowait(event)


class EngineHost:
    """Loads the engine in the background, then turns requests into engine submissions."""

    def __init__(self, model_id: str, load: Callable[[], Engine], slots: int, max_queue_wait_s: float):
        self.model_id = model_id
        self.slots = slots
        self.engine: Engine | None = None
        self.error = ""
        self._load = load
        self._retry_after_s = max(1.0, max_queue_wait_s / 4)
        self._relay: EventRelay | None = None  # made on the server's event loop

    def start_loading(self) -> None:
        def run() -> None:
            try:
                self.engine = self._load()
            except Exception as exc:  # reported through /health; the supervisor restarts us
                self.error = f"{type(exc).__name__}: {exc}"

        threading.Thread(target=run, name="engine-load", daemon=True).start()

    def health(self) -> WorkerHealth:
        if self.engine is not None:
            s = self.engine.stats()
            return WorkerHealth(status="ready", model=self.model_id, n_ctx=self.engine.n_ctx, running=s.running,
                                waiting=s.waiting, kv_cells_used=s.kv_cells_used, kv_cells_total=s.kv_cells_total,
                                generated_tokens=s.generated_tokens)
        if self.error:
            return WorkerHealth(status="failed", model=self.model_id, detail=self.error)
        return WorkerHealth(status="loading", model=self.model_id)

    def prepare(self, body: GenerateRequest) -> EngineRequest:
        """Tokenize and check the prompt; raises before anything is queued."""
        engine = self.engine
        if body.messages is not None:
            text, param = engine.render_chat(body.messages), "messages"
        else:
            text, param = body.prompt, "prompt"
        tokens = engine.tokenize(text)
        if len(tokens) >= engine.n_ctx:
            raise ContextLengthExceeded(
                f"This model's maximum context length is {engine.n_ctx} tokens, "
                f"but the prompt has {len(tokens)} tokens.",
                param=param,
            )
        if body.max_tokens is not None and len(tokens) + body.max_tokens > engine.n_ctx:
            raise ContextLengthExceeded(
                f"This model's maximum context length is {engine.n_ctx} tokens; the prompt has {len(tokens)} "
                f"and max_tokens asks for {body.max_tokens} more.", param="max_tokens")
        unknown = [t for t in body.logit_bias if not 0 <= t < engine.n_vocab]
        if unknown:
            raise InvalidRequest(f"logit_bias names token ids outside the vocabulary (0..{engine.n_vocab - 1}): "
                                 f"{unknown[:5]}", param="logit_bias")
        if body.n > self.slots:
            raise InvalidRequest(f"n must be at most {self.slots}, the sequences this deployment decodes together.",
                                 param="n")
        params = SamplingParams(
            max_tokens=body.max_tokens, temperature=body.temperature, top_p=body.top_p, top_k=body.top_k,
            min_p=body.min_p, stop=tuple(body.stop), seed=body.seed, presence_penalty=body.presence_penalty,
            frequency_penalty=body.frequency_penalty, repetition_penalty=body.repetition_penalty,
            logit_bias=tuple(body.logit_bias.items()), logprobs=body.logprobs, top_logprobs=body.top_logprobs,
            grammar=body.grammar,
        )
        return EngineRequest(prompt_tokens=tokens, params=params, n=body.n)

    async def admit(self, request: EngineRequest) -> tuple[StreamLine, asyncio.Queue, RequestHandle]:
        """Submit and wait until the engine gives the request its slots."""
        if self._relay is None:
            self._relay = EventRelay(asyncio.get_running_loop())
        relay = self._relay
        events: asyncio.Queue[EngineEvent] = asyncio.Queue()
        try:
            handle = self.engine.submit(request, lambda e: relay.emit(events, e))
        except EngineOverloaded as exc:
            raise Overloaded("The model is serving as many requests as it can queue; retry shortly.",
                             retry_after_s=exc.retry_after_s) from None
        try:
            first = await events.get()
        except BaseException:
            handle.cancel()
            raise
        if first.kind == "rejected":
            raise Overloaded(f"The request waited too long for the model: {first.message}",
                             retry_after_s=self._retry_after_s)
        if first.kind != "admitted":
            raise EngineError(f"engine failed: {first.message}")
        start = StreamLine(kind="start", prompt_tokens=len(request.prompt_tokens),
                           cached_tokens=first.cached_tokens, queue_ms=first.queue_ms)
        return start, events, handle


def event_lines(event: EngineEvent) -> list[StreamLine]:
    """The protocol lines that report one engine event."""
    if event.kind == "delta":
        logprobs = None if event.logprobs is None else [
            TokenLogprobLine(token=lp.token, logprob=lp.logprob, bytes=lp.bytes, top=lp.top) for lp in event.logprobs]
        return [StreamLine(kind="delta", index=event.index, text=event.text, tokens=event.tokens, logprobs=logprobs)]
    if event.kind == "finished":
        held = [StreamLine(kind="delta", index=event.index, text=event.text)] if event.text else []
        return [*held, StreamLine(kind="done", index=event.index, finish_reason=event.finish_reason)]
    return [StreamLine(kind="error", message=f"engine failed: {event.message}")]


async def stream_lines(start: StreamLine, events: asyncio.Queue, handle: RequestHandle, n: int) -> AsyncIterator[bytes]:
    """Relay engine events as protocol lines, all that have arrived in one write; a client
    that goes away cancels the request."""

    def encode(line: StreamLine) -> bytes:
        return (line.model_dump_json(exclude_defaults=True) + "\n").encode()

    open_choices = n
    try:
        yield encode(start)
        while open_choices:
            arrived: list[EngineEvent] = [await events.get()]
            while not events.empty():
                arrived.append(events.get_nowait())
            lines = [line for event in arrived for line in event_lines(event)]
            yield b"".join(encode(line) for line in lines)
            if any(line.kind == "error" for line in lines):
                return
            open_choices -= sum(line.kind == "done" for line in lines)
    finally:
        handle.cancel()  # no-op when every choice has finished


def create_worker_app(host: EngineHost) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        host.start_loading()
        yield
        if host.engine is not None:
            host.engine.close()

    app = FastAPI(title="openmaas worker", lifespan=lifespan)

    @app.get("/health")
    async def health() -> JSONResponse:
        h = host.health()
        return JSONResponse(h.model_dump(), status_code=200 if h.status == "ready" else 503)

    @app.post("/generate")
    async def generate(body: GenerateRequest):
        try:
            if host.engine is None:
                raise ModelNotReady("The model is still loading.")
            try:
                request = await asyncio.to_thread(host.prepare, body)
            except OpenMaaSError:
                raise
            except Exception as exc:  # a template that cannot render these messages, say
                raise InvalidRequest(f"Could not prepare the prompt: {exc}", param="messages") from exc
            start, events, handle = await host.admit(request)
        except OpenMaaSError as exc:
            return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers)
        return StreamingResponse(stream_lines(start, events, handle, body.n), media_type="application/x-ndjson")

    return app


def exit_with_parent() -> None:
    """Workers run in their own process group; make sure one never outlives its supervisor."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenMaaS worker (started by `openmaas serve`)")
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--model-path", required=True)
    parser.add_argument("--n-ctx", type=int, default=4096, help="tokens per sequence")
    parser.add_argument("--slots", type=int, default=8, help="sequences decoded together")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--max-waiting", type=int, default=64)
    parser.add_argument("--max-queue-wait", type=float, default=30.0)
    parser.add_argument("--lora-path", default=None, help="a LoRA adapter GGUF applied to the model")
    args = parser.parse_args(argv)
    exit_with_parent()

    from openmaas.engines.llamacpp.batching import LlamaCppBatchingEngine

    def load() -> Engine:
        return LlamaCppBatchingEngine(args.model_id, args.model_path, n_ctx=args.n_ctx, n_seq_max=args.slots,
                                      n_threads=args.threads, max_waiting=args.max_waiting,
                                      max_queue_wait_s=args.max_queue_wait, lora_path=args.lora_path)

    host = EngineHost(args.model_id, load, args.slots, args.max_queue_wait)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"{PORT_ANNOUNCEMENT}{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(create_worker_app(host), log_level="warning", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
