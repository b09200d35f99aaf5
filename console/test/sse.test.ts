import { describe, expect, it } from "vitest";
import { answerStats, chatEvents, parseEvent, sseData } from "../src/lib/sse";

/** A byte stream delivered in the given pieces, as a network would split it. */
function streamOf(pieces: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const p of pieces) controller.enqueue(encoder.encode(p));
      controller.close();
    },
  });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const chunk = (content: string) => JSON.stringify({ id: "c1", choices: [{ index: 0, delta: { content } }] });

describe("sseData", () => {
  it("yields each event's data even when the network splits events and lines anywhere", async () => {
    const body = `data: ${chunk("Hel")}\n\ndata: ${chunk("lo")}\n\ndata: [DONE]\n\n`;
    const pieces = [body.slice(0, 7), body.slice(7, 50), body.slice(50, 51), body.slice(51)];
    expect(await collect(sseData(streamOf(pieces)))).toEqual([chunk("Hel"), chunk("lo"), "[DONE]"]);
  });

  it("handles CRLF, comments, multi-line data and a last event without its blank line", async () => {
    const body = ": keep-alive\r\n\r\ndata: a\r\ndata: b\r\n\r\ndata: tail";
    expect(await collect(sseData(streamOf([body])))).toEqual(["a\nb", "tail"]);
  });

  it("decodes a UTF-8 character split across two network reads", async () => {
    const bytes = new TextEncoder().encode(`data: ${chunk("héllo ✓")}\n\n`);
    const cut = bytes.indexOf(0xe2) + 1; // inside the three bytes of ✓
    const stream = new ReadableStream<Uint8Array>({
      start(c) { c.enqueue(bytes.slice(0, cut)); c.enqueue(bytes.slice(cut)); c.close(); },
    });
    const [data] = await collect(sseData(stream));
    expect(JSON.parse(data).choices[0].delta.content).toBe("héllo ✓");
  });
});

describe("chatEvents", () => {
  it("turns payloads into chunks, the server's mid-stream error object, and the end", async () => {
    const error = { error: { message: "The worker failed.", type: "server_error", code: "worker_failed", param: null } };
    const body = `data: ${chunk("x")}\n\ndata: ${JSON.stringify(error)}\n\ndata: [DONE]\n\n`;
    const events = await collect(chatEvents(streamOf([body])));
    expect(events.map((e) => e.kind)).toEqual(["chunk", "error", "done"]);
    expect(events[1]).toMatchObject({ kind: "error", error: { message: "The worker failed." } });
  });

  it("parses a usage chunk with no choices", () => {
    const e = parseEvent(JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } }));
    expect(e).toEqual({ kind: "chunk", chunk: { choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } } });
  });
});

describe("answerStats", () => {
  it("measures time to first token and decode speed after the first token", () => {
    const s = answerStats(1000, 1250, 3250, { prompt_tokens: 9, completion_tokens: 21, total_tokens: 30 }, "stop");
    expect(s).toEqual({ completionTokens: 21, promptTokens: 9, ttftMs: 250, tokensPerSecond: 10, finishReason: "stop" });
  });

  it("gives no speed for a one-token answer or when no token came", () => {
    expect(answerStats(0, 10, 10, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }, "length").tokensPerSecond).toBeNull();
    expect(answerStats(0, null, 10, null, null)).toMatchObject({ ttftMs: null, tokensPerSecond: null, completionTokens: null });
  });
});
