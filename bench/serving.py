"""Serving benchmark: OpenMaaS against the raw llama.cpp batch loop and llama-cpp-python's server.

One run on this machine, the same GGUF and thread count everywhere, one thing at a time, in rounds:
1. the raw ceiling: B sequences decoded together through llama.cpp's batch API (a subprocess);
2. OpenMaaS (`python -m openmaas serve`) under a streaming chat workload at each concurrency;
3. the peer, `python -m llama_cpp.server`, under the same workload (skip with --skip-peer);
4. with --references, two servers that show what serving costs without our stack
   (bench/reference_servers.py): a bare loop with no framework, and our engine in one process.
Prints one table and the targets; --write also updates the "Serving" section of bench/RESULTS.md.

    .venv/bin/python bench/serving.py [--levels 1,8,16] [--rounds 3] [--threads N] [--skip-peer] [--references] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
import numpy as np
from results import RESULTS, publish, run  # bench/results.py, beside this script

MODEL_ID = "smollm2-135m-instruct"
PEER = "llama-cpp-python server"
BARE = "reference: bare loop server"  # one request at a time: measured at concurrency 1 only
SINGLE = "reference: engine in one process"
N_CTX = 4096  # the servers' context
PROMPTS = [
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Explain how a refrigerator keeps food cold.", "Describe a walk through a busy market in the morning.",
    "What are the main causes of the seasons on Earth?", "Give me some advice on learning to play the guitar.",
    "Explain the difference between weather and climate.", "Write a poem about the ocean at night.",
    "How does a bicycle stay upright while moving?", "Describe the life cycle of a butterfly.",
    "Why is the sky blue? Explain it to a child.", "Write a letter to a friend about your summer holiday.",
    "What makes a good team leader?", "Explain how bread rises when it is baked.",
    "Describe your ideal weekend in the mountains.", "How do plants turn sunlight into food?",
    "Tell me about the history of the printing press.",
]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def cpu_seconds() -> tuple[float, float, float]:
    """The machine's busy and total CPU seconds since boot, and this process's own with its reaped children."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - ticks[3] - ticks[4]) / hz, sum(ticks) / hz, sum(os.times()[:4])


def others_share(before: tuple[float, float, float], after: tuple[float, float, float]) -> float:
    """The share of the machine's CPU that processes outside this run used between two cpu_seconds()."""
    return max(0.0, (after[0] - before[0]) - (after[2] - before[2])) / max(after[1] - before[1], 1e-9)


# --- 1. the raw ceiling: llama.cpp's batch API, no server -------------------------------------

def raw_ceiling(model_path: str, threads: int, batch_sizes: list[int], max_tokens: int, repeats: int = 3) -> list[dict]:
    """Greedy-decode B sequences in one llama_batch: prefill every prompt, then max_tokens-1 steps.

    Every sequence makes exactly max_tokens tokens (end of generation is ignored), so the batch
    stays full. Best of `repeats` runs per B, after a warm-up run.
    """
    import logging

    import llama_cpp as lc
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)  # llama.cpp's own log
    lc.llama_backend_init()
    model = lc.llama_model_load_from_file(model_path.encode(), lc.llama_model_default_params())
    vocab = lc.llama_model_get_vocab(model)
    n_vocab = lc.llama_vocab_n_tokens(vocab)
    render = Jinja2ChatFormatter(lc.llama_model_chat_template(model, None).decode(), eos_token="", bos_token="")

    def tokenize(text: str) -> list[int]:
        raw, buf = text.encode(), (lc.llama_token * N_CTX)()
        return list(buf[: lc.llama_tokenize(vocab, raw, len(raw), buf, N_CTX, True, True)])

    prompts = [tokenize(render(messages=[{"role": "user", "content": p}]).prompt) for p in PROMPTS]
    results = []
    for b in batch_sizes:
        # A KV stream per sequence (llama.cpp's default, kv_unified off: each attends to its own tokens
        # only), each with room for the longest prompt and max_tokens; the whole prefill is one batch.
        n_ctx = b * -(-(max(map(len, prompts)) + max_tokens) // 256) * 256
        params = lc.llama_context_default_params()
        params.n_ctx = params.n_batch = n_ctx
        params.n_seq_max, params.kv_unified = b, False
        params.n_threads = params.n_threads_batch = threads
        ctx = lc.llama_init_from_model(model, params)
        batch = lc.llama_batch_init(n_ctx, 0, 1)

        def decode(entries: list[tuple[int, int, int, bool]]) -> None:  # (token, position, sequence, logits?)
            for i, (token, pos, seq, out) in enumerate(entries):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos, 1
                batch.seq_id[i][0], batch.logits[i] = seq, out
            batch.n_tokens = len(entries)
            if (rc := lc.llama_decode(ctx, batch)) != 0:
                raise RuntimeError(f"llama_decode returned {rc}")

        def argmax(i: int) -> int:
            return int(np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, i), shape=(n_vocab,)).argmax())

        def one_run() -> dict:
            lc.llama_memory_clear(lc.llama_get_memory(ctx), True)
            seqs = [prompts[s % len(prompts)] for s in range(b)]
            entries = [(t, p, s, p == len(toks) - 1) for s, toks in enumerate(seqs) for p, t in enumerate(toks)]
            start = time.perf_counter()
            decode(entries)
            nxt = [argmax(i) for i, entry in enumerate(entries) if entry[3]]
            prefill, pos, steps = time.perf_counter() - start, [len(toks) for toks in seqs], []
            for _ in range(max_tokens - 1):
                t0 = time.perf_counter()
                decode([(nxt[s], pos[s], s, True) for s in range(b)])
                nxt, pos = [argmax(s) for s in range(b)], [p + 1 for p in pos]
                steps.append(time.perf_counter() - t0)
            return {"batch": b, "prefill_s": prefill, "steps_s": steps,
                    "decode_tok_s": b * len(steps) / sum(steps),
                    "e2e_tok_s": b * max_tokens / (prefill + sum(steps))}

        try:
            one_run()
            results.append(max((one_run() for _ in range(repeats)), key=lambda r: r["decode_tok_s"]))
        finally:
            lc.llama_batch_free(batch)
            lc.llama_free(ctx)
    lc.llama_model_free(model)
    return results


# --- 2. the servers: one at a time, always stopped --------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid: int | str) -> list[str]:
    """/proc/PID/stat after the command name: [state, ppid, ...]; index 19 is the start time."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(root: int) -> list[tuple[int, str]]:
    """(pid, start time) of every process below root."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = proc_stat(entry.name) if entry.name.isdigit() else None
        except OSError:
            continue
        if fields:
            children.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found, todo = [], [root]
    while todo:
        for pid, started in children.get(todo.pop(), []):
            found.append((pid, started))
            todo.append(pid)
    return found


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers, then SIGKILL what it left behind
    (OpenMaaS workers run in sessions of their own, so the group alone does not reach them)."""
    tree = descendants(proc.pid)
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(grace)
            break
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
    time.sleep(0.5)
    for pid, started in tree:
        try:
            if proc_stat(pid)[19] == started:  # the same process, not a new one that reuses its pid
                os.kill(pid, signal.SIGKILL)
        except (OSError, IndexError):
            pass


@contextmanager
def running(name: str, cmd: list[str], env: dict, ready_url: str, log_path: Path, timeout: float = 300):
    """Start a server, wait until ready_url answers 200, and stop it however the block ends."""
    log(f"starting {name}")
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=5) as client:
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{name} did not become ready (exit code {proc.poll()}):\n{tail}")
                try:
                    if client.get(ready_url).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
        yield
    finally:
        log(f"stopping {name}")
        stop(proc)


# --- 3. the workload --------------------------------------------------------------------------
# Users send one streaming chat request after another, `conc` of them at once. They start
# staggered, each once the one before has its answer 1/conc of the way, so their requests
# are spread over a request's lifetime as they are in a steady state: a server meets one
# new prompt at a time, not `conc` identical ones in the same millisecond (--burst starts
# every user at once instead). Tokens/s counts the tokens that arrive while all users are
# in flight, from the last user's first request to the first user's last answer.

@dataclass
class Outcome:
    ok: bool
    start: float = 0.0
    arrivals: list[float] = field(default_factory=list)  # when each chunk with content came
    tokens: int = 0
    error: str = ""


@dataclass
class Row:
    system: str
    conc: int
    ok: int
    total: int
    tok_s: float
    ttft: list[float]
    itl: list[float]
    rounds: list[float] = field(default_factory=list)  # tok/s of each round, once merged


@dataclass
class Server:
    host: str
    port: int
    key: str


async def post_events(server: Server, path: str, body: dict, on_data: Callable[[bytes], None]) -> tuple[int, bytes]:
    """POST over HTTP/1.1 and pass the payload of every server-sent `data:` line to on_data as it
    arrives; returns the status and, for a status other than 200, the body. A few lines of asyncio
    instead of httpx: the load generator shares the 2 cores with the server it measures, and httpx
    spends several times more CPU per streamed chunk."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        payload = json.dumps(body).encode()
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nConnection: close\r\n"
                     f"Authorization: Bearer {server.key}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        status = int(head.split(" ", 2)[1])
        if status != 200:
            return status, await reader.read()
        chunked = "transfer-encoding: chunked" in head
        pending = b""
        while True:
            if chunked:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = (await reader.readexactly(size + 2))[:-2] if size else b""
            else:
                data = await reader.read(65536)
            if not data:
                return status, b""
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                if line.startswith(b"data:"):
                    on_data(line[5:].strip())
    finally:
        writer.close()


async def one_request(server: Server, prompt: str, max_tokens: int, halfway: tuple[int, asyncio.Event] | None) -> Outcome:
    """One streamed chat answer; `halfway` = (n, event): set the event once n chunks came (or the request ended)."""
    body = {"model": MODEL_ID, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
            "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    out, state = Outcome(False, time.perf_counter()), {"usage": None, "done": False}

    def on_data(data: bytes) -> None:
        if data == b"[DONE]":
            state["done"] = True
            return
        chunk = json.loads(data)
        state["usage"] = chunk.get("usage") or state["usage"]
        if any((c.get("delta") or {}).get("content") for c in chunk.get("choices") or []):
            out.arrivals.append(time.perf_counter())
            if halfway and len(out.arrivals) == halfway[0]:
                halfway[1].set()

    try:
        status, error = await asyncio.wait_for(post_events(server, "/v1/chat/completions", body, on_data), 600)
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
        status, error = 0, repr(exc).encode()
    finally:
        if halfway:
            halfway[1].set()
    if status != 200:
        out.error = f"HTTP {status}: {error[:200]!r}"
    elif not state["done"] or not out.arrivals:
        out.error = "the stream ended without [DONE] or without content"
    else:
        out.ok = True
        usage = state["usage"]
        out.tokens = usage["completion_tokens"] if usage else len(out.arrivals)  # else one token per chunk
    return out


def tokens_between(outcomes: list[Outcome], start: float, end: float) -> float:
    """Tokens that arrived in [start, end]: each request's chunks there, times its tokens per chunk."""
    return sum(o.tokens / len(o.arrivals) * sum(start <= t <= end for t in o.arrivals) for o in outcomes if o.ok)


async def run_level(server: Server, system: str, conc: int, per_user: int, max_tokens: int, burst: bool) -> Row:
    outcomes: list[Outcome] = []
    began = [asyncio.Event() for _ in range(conc)]  # user u's first answer is 1/conc of the way
    first_sent, last_done = [0.0] * conc, [0.0] * conc

    async def user(u: int) -> None:
        if u and not burst:
            await began[u - 1].wait()
        for r in range(per_user):
            halfway = (max(1, max_tokens // conc), began[u]) if r == 0 else None
            outcome = await one_request(server, PROMPTS[(u * per_user + r) % len(PROMPTS)], max_tokens, halfway)
            first_sent[u] = first_sent[u] or outcome.start
            outcomes.append(outcome)
        last_done[u] = time.perf_counter()

    await asyncio.gather(*(user(u) for u in range(conc)))
    start, end = max(first_sent), min(last_done)
    if end <= start:  # never all in flight at once: count the whole level
        start, end = min(first_sent), max(last_done)
    good = [o for o in outcomes if o.ok]
    row = Row(system, conc, len(good), len(outcomes), tokens_between(outcomes, start, end) / (end - start),
              [o.arrivals[0] - o.start for o in good], [g for o in good for g in np.diff(o.arrivals)])
    errors = [f"; first error: {o.error}" for o in outcomes if not o.ok]
    log(f"{system} c={conc}: {row.ok}/{row.total} ok, {row.tok_s:.1f} tok/s" + "".join(errors[:1]))
    return row


def measure(system: str, server: Server, args: argparse.Namespace) -> list[Row]:
    levels = [c for c in args.levels if c == 1] if system == BARE else args.levels
    return [asyncio.run(run_level(server, system, c, max(args.requests_per_user, -(-16 // c)), args.max_tokens,
                                  args.burst)) for c in levels]


def merge(rows: list[Row]) -> Row:
    """One system and concurrency over every round: the median tok/s, every request's latencies."""
    return Row(rows[0].system, rows[0].conc, sum(r.ok for r in rows), sum(r.total for r in rows),
               float(np.median([r.tok_s for r in rows])), [t for r in rows for t in r.ttft],
               [g for r in rows for g in r.itl], [r.tok_s for r in rows])


def merge_raw(rounds: list[list[dict]]) -> list[dict]:
    """The raw loop per batch size over every round: median rates and prefill, every step."""
    merged = []
    for runs in zip(*rounds):
        merged.append({"batch": runs[0]["batch"], "steps_s": [t for r in runs for t in r["steps_s"]],
                       **{k: float(np.median([r[k] for r in runs])) for k in ("prefill_s", "decode_tok_s", "e2e_tok_s")},
                       "rounds": [r["decode_tok_s"] for r in runs]})
    return merged


# --- 4. the report ----------------------------------------------------------------------------

def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def table(raw: list[dict], rows: list[Row]) -> str:
    lines = ["| system | concurrency | complete | tok/s | TTFT p50 ms | TTFT p95 ms | ITL p50 ms | ITL p95 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in raw:
        b, steps = r["batch"], r["steps_s"]
        lines.append(f"| raw llama.cpp batch loop | {b} | {b}/{b} | {r['decode_tok_s']:.1f} | {ms(r['prefill_s'])} "
                     f"| {ms(r['prefill_s'])} | {ms(pct(steps, 50))} | {ms(pct(steps, 95))} |")
    for r in rows:
        lines.append(f"| {r.system} | {r.conc} | {r.ok}/{r.total} | {r.tok_s:.1f} | {ms(pct(r.ttft, 50))} "
                     f"| {ms(pct(r.ttft, 95))} | {ms(pct(r.itl, 50))} | {ms(pct(r.itl, 95))} |")
    with_prefill = ", ".join(f"{r['e2e_tok_s']:.1f} at B={r['batch']}" for r in raw)
    lines += ["", "tok/s is the median of the rounds; TTFT and ITL percentiles pool every request of every round. "
              "Raw rows: tok/s is the decode phase (B x (max_tokens-1) tokens over the decode steps), TTFT the "
              f"batched prefill, ITL the step time. With the prefill included the raw loop makes {with_prefill} tok/s."]
    return "\n".join(lines)


def shares(row: Row, ceiling: dict) -> tuple[float, str]:
    """A server's tok/s against the raw ceiling of the same round: the median, and every round's."""
    each = [ours / raw for ours, raw in zip(row.rounds, ceiling["rounds"])]
    return float(np.median(each)), ", ".join(f"{share:.0%}" for share in each)


def verdicts(raw: list[dict], rows: list[Row]) -> str:
    ceiling = {r["batch"]: r for r in raw}
    ours = {r.conc: r for r in rows if r.system == "OpenMaaS"}
    peer = {r.conc: r for r in rows if r.system == PEER}
    out = []
    for c, target in ((8, 0.80), (1, 0.85)):
        if c in ours and c in ceiling:
            r, cap = ours[c], ceiling[c]
            share, each = shares(r, cap)
            met = share >= target and (c != 8 or r.ok == r.total)
            out.append(f"OpenMaaS at c={c}: {share:.0%} of raw ceiling({c}) (median of the rounds: {each}; "
                       f"{r.tok_s:.1f} vs {cap['decode_tok_s']:.1f} tok/s; {r.tok_s / cap['e2e_tok_s']:.0%} of the "
                       f"raw rate with prefill), {r.ok}/{r.total} complete [target >= {target:.0%}"
                       f"{', every request complete' if c == 8 else ''}: {'met' if met else 'NOT met'}]")
    if 8 in ours and (p95 := pct(ours[8].ttft, 95)) is not None:
        out.append(f"OpenMaaS TTFT p95 at c=8: {ms(p95)} ms [target < 250 ms: {'met' if p95 < 0.25 else 'NOT met'}]")
    for c in sorted(set(ours) & set(peer)):
        out.append(f"OpenMaaS / {PEER} at c={c}: {ours[c].tok_s / max(peer[c].tok_s, 1e-9):.2f}x tok/s")
    for r in rows:
        if r.system in (BARE, SINGLE) and r.conc in ceiling:
            share, each = shares(r, ceiling[r.conc])
            out.append(f"{r.system} at c={r.conc}: {share:.0%} of raw ceiling({r.conc}) (rounds: {each})")
    return "\n".join(out)


def machine(args: argparse.Namespace, model_path: str, noise: float) -> str:
    import llama_cpp

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip() or "unknown"
    return "\n".join([
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; OpenMaaS at commit {commit} plus any local changes",
        f"- CPU: {cpu}, {os.cpu_count()} cores; llama.cpp threads: {args.threads}; "
        f"CPU used by other processes during the run: {noise:.0%}" + (" (noisy numbers)" if noise > 0.10 else ""),
        f"- model: {MODEL_ID} ({Path(model_path).name}), llama-cpp-python {llama_cpp.__version__}, n_ctx {N_CTX}",
        f"- workload: streaming chat, max_tokens {args.max_tokens}, temperature 0, {len(PROMPTS)} prompts in turn; "
        f"at concurrency c, c users each send max({args.requests_per_user}, 16/c) requests one after another, "
        + ("all starting at once" if args.burst else "starting staggered (each once the one before has 1/c of its "
           "first answer); tok/s counts the tokens that arrive while all c are in flight"),
        f"- {args.rounds} rounds, each the raw loop then every server in turn",
        *([f"- references (bench/reference_servers.py): \"{BARE}\" has no framework and answers one request at a "
           f"time, its decoding thread writing each event to the socket (concurrency 1 only); \"{SINGLE}\" is "
           "OpenMaaS's engine under FastAPI in one process, without the worker hop, keys, metering or database"]
          if args.references else []),
        f"- command: `python bench/serving.py {' '.join(sys.argv[1:])}`"])


# --- the run ----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--requests-per-user", type=int, default=4,
                        help="requests each user sends one after another (at least 16 per level in all)")
    parser.add_argument("--burst", action="store_true", help="start every user at once instead of staggered")
    parser.add_argument("--levels", default=[1, 8, 16], type=lambda text: [int(c) for c in text.split(",")],
                        help="concurrency levels, and the raw loop's batch sizes (default 1,8,16)")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of raw loop then servers (default 3)")
    parser.add_argument("--skip-peer", action="store_true", help="do not run llama-cpp-python's server")
    parser.add_argument("--references", action="store_true",
                        help="also run the reference servers of bench/reference_servers.py")
    parser.add_argument("--write", action="store_true", help=f"also update the Serving section of {RESULTS}")
    parser.add_argument("--raw-only", action="store_true", help=argparse.SUPPRESS)  # the ceiling's subprocess
    args = parser.parse_args()
    if args.max_tokens < 2:
        parser.error("--max-tokens must be at least 2 (a prefill and a decode step)")
    from openmaas.hub.builtin import builtin_model_path

    model_path = str(builtin_model_path())
    if args.raw_only:
        print(json.dumps(raw_ceiling(model_path, args.threads, args.levels, args.max_tokens)))
        return

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the cleanup below runs on SIGTERM too
    before = cpu_seconds()
    time.sleep(2)
    if (busy := others_share(before, start := cpu_seconds())) > 0.10:
        log(f"warning: other processes already use {busy:.0%} of the CPU; every number below will be noisy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMAAS_")}  # never the caller's database
    raw_rounds: list[list[dict]] = []
    rows: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory(prefix="openmaas-bench-") as tmp, ExitStack() as servers:
        # Both servers stay up for the whole run; the one not being measured idles (OpenMaaS's
        # monitor and probes use about 1% of the machine).
        port = free_port()
        cmd = [sys.executable, "-m", "openmaas", "serve", "--host", "127.0.0.1", "--port", str(port), "--home", tmp]
        servers.enter_context(running("OpenMaaS", cmd, {**env, "OPENMAAS_N_THREADS": str(args.threads)},
                                      f"http://127.0.0.1:{port}/health", Path(tmp) / "openmaas.log"))
        systems = {"OpenMaaS": Server("127.0.0.1", port, (Path(tmp) / "admin.key").read_text().strip())}
        if not args.skip_peer:
            port = free_port()
            cmd = [sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--model_alias", MODEL_ID,
                   "--n_threads", str(args.threads), "--n_threads_batch", str(args.threads), "--n_ctx", str(N_CTX),
                   "--host", "127.0.0.1", "--port", str(port), "--interrupt_requests", "false", "--verbose", "false"]
            servers.enter_context(running(PEER, cmd, env, f"http://127.0.0.1:{port}/v1/models", Path(tmp) / "peer.log"))
            systems[PEER] = Server("127.0.0.1", port, "none")
        if args.references:
            for system, kind in ((BARE, "bare"), (SINGLE, "single")):
                port = free_port()
                cmd = [sys.executable, str(Path(__file__).with_name("reference_servers.py")), kind, "--port", str(port),
                       "--threads", str(args.threads), "--model", model_path]
                servers.enter_context(running(system, cmd, env, f"http://127.0.0.1:{port}/health",
                                              Path(tmp) / f"{kind}.log"))
                systems[system] = Server("127.0.0.1", port, "none")
        for system, server in systems.items():
            asyncio.run(run_level(server, system, 1, 2, args.max_tokens, False))  # warm-up, not reported
        # This machine's speed drifts by 10-20% over minutes (it shares its host), so each round
        # measures the raw ceiling and then every server, and the verdicts compare within a round.
        for r in range(args.rounds):
            log(f"round {r + 1}/{args.rounds}: raw ceiling at batch sizes {args.levels}, {args.threads} threads")
            child = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--raw-only"], stdout=subprocess.PIPE,
                                   check=True, text=True)  # a process of its own, its memory gone afterwards
            raw_rounds.append(json.loads(child.stdout))
            for system, server in systems.items():
                for row in measure(system, server, args):
                    rows.setdefault(f"{system} {row.conc}", []).append(row)
    raw = merge_raw(raw_rounds)
    merged = [merge(group) for group in rows.values()]

    report = "\n\n".join([machine(args, model_path, others_share(start, cpu_seconds())),
                          table(raw, merged), verdicts(raw, merged)])
    publish("Serving", report, args.write)


if __name__ == "__main__":
    run(main)
