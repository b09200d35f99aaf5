"""A worker process: loads one model into an engine and serves the internal API on loopback.

Run by the supervisor as `python -m openmaas.workers.worker ...`. It binds an ephemeral
port itself and announces it on stdout as `OPENMAAS_WORKER_PORT=<port>`, so two workers
can never race for a port.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from openmaas.engines.base import Engine, GenerationRequest, SamplingParams
from openmaas.errors import ContextLengthExceeded, InvalidRequest, OpenMaaSError
from openmaas.workers.protocol import GenerateRequest, StreamLine, WorkerHealth

PORT_ANNOUNCEMENT = "OPENMAAS_WORKER_PORT="


class EngineHost:
    """Loads the engine in the background and runs one generation at a time on its thread."""

    def __init__(self, model_id: str, load):
        self.model_id = model_id
        self.engine: Engine | None = None
        self.error = ""
        self._load = load
        self._lock = asyncio.Lock()

    def start_loading(self) -> None:
        def run() -> None:
            try:
                self.engine = self._load()
            except Exception as exc:  # reported through /health; the supervisor restarts us
                self.error = f"{type(exc).__name__}: {exc}"

        threading.Thread(target=run, name="engine-load", daemon=True).start()

    def health(self) -> WorkerHealth:
        if self.engine is not None:
            return WorkerHealth(status="ready", model=self.model_id, n_ctx=self.engine.n_ctx)
        if self.error:
            return WorkerHealth(status="failed", model=self.model_id, detail=self.error)
        return WorkerHealth(status="loading", model=self.model_id)

    def prepare(self, body: GenerateRequest) -> GenerationRequest:
        """Tokenize and check the prompt; raises before anything is streamed."""
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
        params = SamplingParams(
            max_tokens=body.max_tokens,
            temperature=body.temperature,
            top_p=body.top_p,
            top_k=body.top_k,
            min_p=body.min_p,
            stop=tuple(body.stop),
            seed=body.seed,
            presence_penalty=body.presence_penalty,
            frequency_penalty=body.frequency_penalty,
            repetition_penalty=body.repetition_penalty,
        )
        return GenerationRequest(prompt_tokens=tokens, params=params)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamLine]:
        """Run the engine's blocking generator on a thread; stop it if the client goes away."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        cancelled = threading.Event()
        done = object()

        def produce() -> None:
            try:
                for event in self.engine.generate(request, cancelled.is_set):
                    loop.call_soon_threadsafe(queue.put_nowait, event)
            except Exception as exc:
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, done)

        async with self._lock:
            yield StreamLine(kind="start", prompt_tokens=len(request.prompt_tokens))
            thread = threading.Thread(target=produce, name="engine-generate", daemon=True)
            thread.start()
            try:
                while (item := await queue.get()) is not done:
                    if isinstance(item, Exception):
                        yield StreamLine(kind="error", message=f"engine failed: {item}")
                    elif item.finish_reason is not None:
                        yield StreamLine(kind="delta", text=item.text, tokens=item.tokens)
                        yield StreamLine(kind="done", finish_reason=item.finish_reason)
                    else:
                        yield StreamLine(kind="delta", text=item.text, tokens=item.tokens)
            finally:
                cancelled.set()
                await asyncio.to_thread(thread.join)


def create_worker_app(host: EngineHost) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        host.start_loading()
        yield

    app = FastAPI(title="openmaas worker", lifespan=lifespan)

    @app.get("/health")
    async def health() -> JSONResponse:
        h = host.health()
        return JSONResponse(h.model_dump(), status_code=200 if h.status == "ready" else 503)

    @app.post("/generate")
    async def generate(body: GenerateRequest):
        if host.engine is None:
            return JSONResponse({"error": {"message": "model is loading", "type": "server_error",
                                           "param": None, "code": "model_not_ready"}}, status_code=503)
        try:
            request = await asyncio.to_thread(host.prepare, body)
        except OpenMaaSError as exc:
            return JSONResponse(exc.to_dict(), status_code=exc.status_code)
        except Exception as exc:  # a template that cannot render these messages, say
            err = InvalidRequest(f"could not prepare the prompt: {exc}", param="messages")
            return JSONResponse(err.to_dict(), status_code=400)

        async def lines() -> AsyncIterator[bytes]:
            async for line in host.stream(request):
                yield (line.model_dump_json(exclude_defaults=True) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

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
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    exit_with_parent()

    from openmaas.engines.llamacpp.engine import LlamaCppEngine

    host = EngineHost(
        args.model_id,
        lambda: LlamaCppEngine(args.model_id, args.model_path, n_ctx=args.n_ctx, n_threads=args.threads),
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"{PORT_ANNOUNCEMENT}{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(create_worker_app(host), log_level="warning", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
