import { describe, expect, it } from "vitest";
import { chatRequest, DEFAULT_SETTINGS, numberOrNull, parseStops } from "../src/lib/chat";
import { curlSnippet, pyLiteral, pythonSnippet, shellQuote } from "../src/lib/snippets";

const settings = { ...DEFAULT_SETTINGS, model: "smollm2-135m-instruct", system: "Be brief.", temperature: 0.2, topP: 0.9,
  maxTokens: 64, seed: 7, stop: ["\n\n"], jsonMode: true };

describe("chatRequest", () => {
  it("puts the system prompt first and every setting under its API name", () => {
    const body = chatRequest(settings, [{ role: "user", content: "Hi" }]);
    expect(body).toEqual({
      model: "smollm2-135m-instruct",
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }],
      stream: true, stream_options: { include_usage: true }, temperature: 0.2, top_p: 0.9, max_tokens: 64, seed: 7,
      stop: ["\n\n"], response_format: { type: "json_object" },
    });
  });

  it("leaves out what is not set", () => {
    const body = chatRequest({ ...DEFAULT_SETTINGS, model: "m", system: " ", temperature: null, topP: null, maxTokens: null },
      [{ role: "user", content: "Hi" }], false);
    expect(body).toEqual({ model: "m", messages: [{ role: "user", content: "Hi" }], stream: false });
  });

  it("reads stop sequences one per line, with \\n for a newline", () => {
    expect(parseStops("END\n\\n\\n\n\n,")).toEqual(["END", "\n\n", ","]);
    expect(numberOrNull("")).toBeNull();
    expect(numberOrNull("0.5")).toBe(0.5);
    expect(numberOrNull("abc")).toBeNaN();
  });
});

describe("pyLiteral", () => {
  it("writes Python's True, False and None, and nests with indentation", () => {
    expect(pyLiteral({ include_usage: true, x: null, y: false })).toBe('{"include_usage": True, "x": None, "y": False}');
    expect(pyLiteral([{ role: "user", content: 'say "hi"\n' }], 1)).toBe(
      '[\n        {"role": "user", "content": "say \\"hi\\"\\n"},\n    ]');
  });
});

describe("pythonSnippet", () => {
  it("is the openai client call with the same arguments and a streaming loop", () => {
    const code = pythonSnippet(chatRequest(settings, [{ role: "user", content: "Hi" }]), "http://127.0.0.1:8000");
    expect(code).toContain('client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key=os.environ["OPENMAAS_API_KEY"])');
    expect(code).toContain('    model="smollm2-135m-instruct",');
    expect(code).toContain('    stream_options={"include_usage": True},');
    expect(code).toContain('    response_format={"type": "json_object"},');
    expect(code).toContain("    seed=7,");
    expect(code).toContain("for chunk in stream:");
    expect(code).not.toMatch(/\btrue\b|\bnull\b/);
  });
});

describe("curlSnippet", () => {
  it("sends the exact JSON body, safely quoted for the shell", () => {
    const body = chatRequest({ ...settings, jsonMode: false }, [{ role: "user", content: "It's $HOME" }]);
    const code = curlSnippet(body, "http://h:1");
    expect(code.startsWith("curl -N http://h:1/v1/chat/completions")).toBe(true);
    expect(code).toContain('-H "Authorization: Bearer $OPENMAAS_API_KEY"');
    const quoted = code.slice(code.indexOf("-d ") + 3).trim();
    expect(quoted).toBe(shellQuote(JSON.stringify(body, null, 2)));
    expect(shellQuote("It's")).toBe("'It'\\''s'");
  });
});
