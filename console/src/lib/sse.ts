// Server-sent events from /v1/chat/completions: `data: {...}` blocks ending with `data: [DONE]`.

export type ChatChunk = {
  id?: string;
  model?: string;
  choices: { index: number; delta: { role?: string; content?: string }; finish_reason?: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number } };
};

export type StreamEvent =
  | { kind: "chunk"; chunk: ChatChunk }
  | { kind: "error"; error: { message: string; type?: string; code?: string | null; param?: string | null } }
  | { kind: "done" };

/** Splits a byte stream into the `data:` payloads of its events (one payload per blank-line-separated block). */
export async function* sseData(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop() ?? "";
      for (const block of blocks) {
        const data = dataOf(block);
        if (data !== null) yield data;
      }
    }
    buffer += decoder.decode();
    const last = dataOf(buffer);
    if (last !== null) yield last;
  } finally {
    reader.releaseLock();
  }
}

function dataOf(block: string): string | null {
  const lines = block.split(/\r?\n/).filter((l) => l.startsWith("data:"));
  if (lines.length === 0) return null;
  return lines.map((l) => l.slice(5).replace(/^ /, "")).join("\n");
}

/** One parsed event per payload: a chunk, the error object the server sends mid-stream, or the end. */
export function parseEvent(data: string): StreamEvent {
  if (data.trim() === "[DONE]") return { kind: "done" };
  const parsed = JSON.parse(data);
  if (parsed && parsed.error) return { kind: "error", error: parsed.error };
  return { kind: "chunk", chunk: parsed as ChatChunk };
}

export async function* chatEvents(stream: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  for await (const data of sseData(stream)) yield parseEvent(data);
}

/** What a person sees of one answer: its text as it grows and, at the end, its numbers. */
export type AnswerStats = {
  completionTokens: number | null;
  promptTokens: number | null;
  ttftMs: number | null;
  tokensPerSecond: number | null;
  finishReason: string | null;
};

/** Timings from three moments: request sent, first visible token, last event. */
export function answerStats(sentAt: number, firstTokenAt: number | null, endAt: number,
                            usage: ChatChunk["usage"] | null, finishReason: string | null): AnswerStats {
  const completion = usage?.completion_tokens ?? null;
  const ttft = firstTokenAt === null ? null : firstTokenAt - sentAt;
  let tps: number | null = null;
  if (completion !== null && firstTokenAt !== null) {
    // The first token arrives with the time to first token; the rest over the decode time.
    const decodeS = (endAt - firstTokenAt) / 1000;
    tps = completion > 1 && decodeS > 0 ? (completion - 1) / decodeS : null;
  }
  return { completionTokens: completion, promptTokens: usage?.prompt_tokens ?? null, ttftMs: ttft,
    tokensPerSecond: tps, finishReason };
}
