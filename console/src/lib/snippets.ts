// "View code": the playground's request as an `openai` Python call and as curl.
import type { ChatRequest } from "./chat";

/** A JSON value as a Python literal (JSON's string escapes are valid in Python). */
export function pyLiteral(value: unknown, indent = 0): string {
  const pad = "    ".repeat(indent + 1);
  const end = "    ".repeat(indent);
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return "[\n" + value.map((v) => pad + pyLiteral(v, indent + 1) + ",\n").join("") + end + "]";
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  const inline = entries.every(([, v]) => v === null || typeof v !== "object");
  if (inline) return "{" + entries.map(([k, v]) => `${JSON.stringify(k)}: ${pyLiteral(v)}`).join(", ") + "}";
  return "{\n" + entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${pyLiteral(v, indent + 1)},\n`).join("") + end + "}";
}

export function pythonSnippet(body: ChatRequest, baseUrl: string): string {
  const lines = [
    "import os",
    "from openai import OpenAI",
    "",
    `client = OpenAI(base_url=${JSON.stringify(baseUrl + "/v1")}, api_key=os.environ["OPENMAAS_API_KEY"])`,
    "",
  ];
  const args = Object.entries(body).map(([k, v]) => `    ${k}=${pyLiteral(v, 1)},`);
  if (body.stream) {
    lines.push("stream = client.chat.completions.create(", ...args, ")",
      "for chunk in stream:",
      "    if chunk.choices and chunk.choices[0].delta.content:",
      "        print(chunk.choices[0].delta.content, end=\"\", flush=True)",
      "    if chunk.usage:",
      "        print(\"\\n\", chunk.usage)");
  } else {
    lines.push("completion = client.chat.completions.create(", ...args, ")",
      "print(completion.choices[0].message.content)");
  }
  return lines.join("\n") + "\n";
}

/** A string as one single-quoted shell word. */
export function shellQuote(text: string): string {
  return "'" + text.replace(/'/g, "'\\''") + "'";
}

export function curlSnippet(body: ChatRequest, baseUrl: string): string {
  return [
    `curl${body.stream ? " -N" : ""} ${baseUrl}/v1/chat/completions \\`,
    `  -H "Authorization: Bearer $OPENMAAS_API_KEY" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d ${shellQuote(JSON.stringify(body, null, 2))}`,
  ].join("\n") + "\n";
}
