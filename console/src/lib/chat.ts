// The playground's settings and the one request body built from them: what the console sends
// is exactly what "view code" shows.

export type Message = { role: "system" | "user" | "assistant"; content: string };

export type ChatSettings = {
  model: string;
  system: string;
  temperature: number | null;
  topP: number | null;
  maxTokens: number | null;
  seed: number | null;
  stop: string[];
  jsonMode: boolean;
};

export const DEFAULT_SETTINGS: ChatSettings = {
  model: "", system: "", temperature: 0.7, topP: 1, maxTokens: 256, seed: null, stop: [], jsonMode: false,
};

export type ChatRequest = {
  model: string;
  messages: Message[];
  stream: boolean;
  stream_options?: { include_usage: boolean };
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  stop?: string[];
  response_format?: { type: "json_object" };
};

/** The body of POST /v1/chat/completions for a conversation (the system prompt goes first). */
export function chatRequest(settings: ChatSettings, conversation: Message[], stream = true): ChatRequest {
  const messages: Message[] = settings.system.trim()
    ? [{ role: "system", content: settings.system }, ...conversation]
    : [...conversation];
  const body: ChatRequest = { model: settings.model, messages, stream };
  if (stream) body.stream_options = { include_usage: true };
  if (settings.temperature !== null) body.temperature = settings.temperature;
  if (settings.topP !== null) body.top_p = settings.topP;
  if (settings.maxTokens !== null) body.max_tokens = settings.maxTokens;
  if (settings.seed !== null) body.seed = settings.seed;
  if (settings.stop.length) body.stop = settings.stop;
  if (settings.jsonMode) body.response_format = { type: "json_object" };
  return body;
}

/** Stop sequences as typed: one per line (so a comma can be a stop sequence). */
export function parseStops(text: string): string[] {
  return text.split("\n").map((s) => s.replace(/\\n/g, "\n")).filter((s) => s.length > 0).slice(0, 4);
}

/** A number field's value, or null when empty; NaN stays NaN so the form can say it is not a number. */
export function numberOrNull(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}
