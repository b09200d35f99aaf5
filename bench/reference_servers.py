"""Two reference servers for bench/serving.py --references: what serving costs without our stack.

    python bench/reference_servers.py bare|single --port P --threads N --model PATH

- bare: no framework and one request at a time. The decoding thread reads the request from
  the socket, prefills what the previous prompt did not share, and writes each token's
  server-sent event straight to the socket. The least any HTTP server must do; its rate at
  concurrency 1 is the best a server can show against the raw loop on this machine.
- single: OpenMaaS's engine in the same process as a FastAPI app, no worker hop, no keys,
  no metering or database. What a one-process serving path would reach.

Both answer POST /v1/chat/completions (streaming, greedy, max_tokens) and GET /health.
"""

# No postponed annotations (`from __future__`) here: FastAPI resolves `Request`, imported inside single().
import argparse
import asyncio
import json
import socket

CHUNK = {"id": "chatcmpl-reference", "object": "chat.completion.chunk", "created": 0, "model": "reference"}


def sse(choices: list[dict], **extra) -> bytes:
    return b"data: " + json.dumps({**CHUNK, "choices": choices, **extra}).encode() + b"\n\n"


def bare(port: int, threads: int, model_path: str) -> None:
    import llama_cpp as lc
    import numpy as np
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    lc.llama_backend_init()
    model = lc.llama_model_load_from_file(model_path.encode(), lc.llama_model_default_params())
    vocab = lc.llama_model_get_vocab(model)
    n_vocab, n_ctx = lc.llama_vocab_n_tokens(vocab), 4096
    render = Jinja2ChatFormatter(lc.llama_model_chat_template(model, None).decode(), eos_token="", bos_token="")
    params = lc.llama_context_default_params()
    params.n_ctx = params.n_batch = n_ctx
    params.n_threads = params.n_threads_batch = threads
    ctx = lc.llama_init_from_model(model, params)
    batch = lc.llama_batch_init(n_ctx, 0, 1)
    piece_buf = (lc.ctypes.c_char * 256)()
    cached: list[int] = []  # the tokens whose cells the one sequence holds

    def tokenize(text: str) -> list[int]:
        raw, buf = text.encode(), (lc.llama_token * n_ctx)()
        return list(buf[: lc.llama_tokenize(vocab, raw, len(raw), buf, n_ctx, True, True)])

    def decode(tokens: list[int], start: int) -> int:
        """Decode tokens at positions start.., return the greedy next token."""
        for i, token in enumerate(tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, start + i, 1
            batch.seq_id[i][0], batch.logits[i] = 0, i == len(tokens) - 1
        batch.n_tokens = len(tokens)
        if lc.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        logits = np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, len(tokens) - 1), shape=(n_vocab,))
        return int(logits.argmax())

    def answer(conn: socket.socket) -> None:
        nonlocal cached
        data = b""
        while b"\r\n\r\n" not in data:
            if not (more := conn.recv(65536)):
                return
            data += more
        head, body = data.split(b"\r\n\r\n", 1)
        if head.startswith(b"GET"):
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
            return
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        while len(body) < length:
            body += conn.recv(65536)
        request = json.loads(body)
        tokens = tokenize(render(messages=request["messages"]).prompt)
        keep = 0  # the prefix the previous prompt and answer share with this prompt, less its last token
        while keep < min(len(tokens) - 1, len(cached)) and tokens[keep] == cached[keep]:
            keep += 1
        lc.llama_memory_seq_rm(lc.llama_get_memory(ctx), 0, keep, -1)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
        token, made = decode(tokens[keep:], keep), 0
        while made < request["max_tokens"] and not lc.llama_vocab_is_eog(vocab, token):
            tokens.append(token)
            made += 1
            text = piece_buf[: lc.llama_token_to_piece(vocab, token, piece_buf, 256, 0, False)]
            conn.sendall(sse([{"index": 0, "delta": {"content": text.decode(errors="replace")}}]))
            if made < request["max_tokens"]:
                token = decode([token], len(tokens) - 1)
        cached = tokens[:-1] if made == request["max_tokens"] else tokens
        conn.sendall(sse([], usage={"completion_tokens": made}) + b"data: [DONE]\n\n")

    server = socket.create_server(("127.0.0.1", port), backlog=64)
    while True:
        conn, _ = server.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            answer(conn)


def single(port: int, threads: int, model_path: str) -> None:
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    from openmaas.engines.base import EngineRequest, SamplingParams
    from openmaas.engines.llamacpp.batching import LlamaCppBatchingEngine
    from openmaas.workers.worker import EventRelay

    engine = LlamaCppBatchingEngine("reference", model_path, n_threads=threads)
    app = FastAPI()
    relay: EventRelay | None = None  # one for the event loop, as in the worker: a wake-up per step

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({})

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> StreamingResponse:
        nonlocal relay
        relay = relay or EventRelay(asyncio.get_running_loop())
        body = await request.json()
        tokens = await asyncio.to_thread(lambda: engine.tokenize(engine.render_chat(body["messages"])))
        events = asyncio.Queue()
        handle = engine.submit(EngineRequest(prompt_tokens=tokens, params=SamplingParams(
            max_tokens=body["max_tokens"], temperature=0.0)), lambda event: relay.emit(events, event))

        async def stream():
            made = 0
            try:
                while True:
                    arrived = [await events.get()]
                    while not events.empty():
                        arrived.append(events.get_nowait())
                    out = b""
                    for event in arrived:
                        if event.kind == "delta" and event.text:
                            out += sse([{"index": 0, "delta": {"content": event.text}}])
                        made += event.tokens
                        if event.kind in ("finished", "error", "rejected"):
                            yield out + sse([], usage={"completion_tokens": made}) + b"data: [DONE]\n\n"
                            return
                    if out:
                        yield out
            finally:
                handle.cancel()

        return StreamingResponse(stream(), media_type="text/event-stream")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["bare", "single"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    (bare if args.kind == "bare" else single)(args.port, args.threads, args.model)


if __name__ == "__main__":
    main()
