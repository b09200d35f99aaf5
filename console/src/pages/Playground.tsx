// Chat with any deployed model, streamed token by token; compare two models on the same prompt; view the code.
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { ApiError, type Api } from "../api";
import { chatRequest, DEFAULT_SETTINGS, numberOrNull, parseStops, type ChatSettings, type Message } from "../lib/chat";
import { answerStats, chatEvents, type AnswerStats, type ChatChunk } from "../lib/sse";
import { curlSnippet, pythonSnippet } from "../lib/snippets";
import { count, ms } from "../lib/format";
import { useLoad } from "../lib/useLoad";
import { useApi } from "../session";
import { Badge, CopyButton, Empty, ErrorNote, Field, Loading, PageHeader } from "../components/ui";

type Turn = { role: "user" | "assistant"; content: string; stats?: AnswerStats; error?: ApiError; streaming?: boolean };
type Panel = { model: string; turns: Turn[] };

/** Streams one answer into `onText`; resolves with its numbers. */
async function streamAnswer(api: Api, settings: ChatSettings, history: Message[], signal: AbortSignal,
                            onText: (text: string) => void): Promise<AnswerStats> {
  const sentAt = performance.now();
  const response = await api.chatStream(chatRequest(settings, history), signal);
  let text = "";
  let firstAt: number | null = null;
  let usage: ChatChunk["usage"] | null = null;
  let finish: string | null = null;
  for await (const event of chatEvents(response.body!)) {
    if (event.kind === "error") {
      throw new ApiError(event.error.message, 0, event.error.type ?? null, event.error.param ?? null,
        event.error.code ?? null);
    }
    if (event.kind === "done") break;
    const { chunk } = event;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta.content) {
        if (firstAt === null) firstAt = performance.now();
        text += choice.delta.content;
        onText(text);
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return answerStats(sentAt, firstAt, performance.now(), usage, finish);
}

type Form = { system: string; temperature: string; topP: string; maxTokens: string; seed: string; stop: string; jsonMode: boolean };

function settingsOf(form: Form, model: string): ChatSettings {
  return { ...DEFAULT_SETTINGS, model, system: form.system, temperature: numberOrNull(form.temperature),
    topP: numberOrNull(form.topP), maxTokens: numberOrNull(form.maxTokens), seed: numberOrNull(form.seed),
    stop: parseStops(form.stop), jsonMode: form.jsonMode };
}

export default function Playground() {
  const api = useApi();
  const [params] = useSearchParams();
  const deployments = useLoad(() => api.deployments(), [api], 10000);
  const models = useMemo(() => {
    const seen = new Map<string, string>();
    for (const d of deployments.data?.data ?? []) {
      if (!seen.has(d.model) || d.state === "ready") seen.set(d.model, d.state);
    }
    return [...seen.entries()].map(([id, state]) => ({ id, state }));
  }, [deployments.data]);

  const [form, setForm] = useState<Form>({ system: "", temperature: "0.7", topP: "1", maxTokens: "256", seed: "",
    stop: "", jsonMode: false });
  const [compare, setCompare] = useState(false);
  const [panels, setPanels] = useState<Panel[]>([{ model: "", turns: [] }, { model: "", turns: [] }]);
  const [input, setInput] = useState("");
  const [running, setRunning] = useState(false);
  const [showCode, setShowCode] = useState(false);
  const abort = useRef<AbortController | null>(null);

  // Preselect: ?model= from another page, else the first ready model; the second panel another one if there is.
  useEffect(() => {
    if (!models.length) return;
    setPanels((ps) => {
      const wanted = params.get("model");
      const first = ps[0].model || (wanted && models.some((m) => m.id === wanted) ? wanted : models[0].id);
      const second = ps[1].model || (models.find((m) => m.id !== first)?.id ?? first);
      return [{ ...ps[0], model: first }, { ...ps[1], model: second }];
    });
  }, [models, params]);

  const active = compare ? panels : panels.slice(0, 1);
  const invalid = (["temperature", "topP", "maxTokens", "seed"] as const).find((f) => Number.isNaN(numberOrNull(form[f])));

  function setTurns(index: number, update: (turns: Turn[]) => Turn[]) {
    setPanels((ps) => ps.map((p, i) => (i === index ? { ...p, turns: update(p.turns) } : p)));
  }

  async function send(event?: FormEvent) {
    event?.preventDefault();
    const text = input.trim();
    if (!text || running || invalid) return;
    setInput("");
    setRunning(true);
    const controller = new AbortController();
    abort.current = controller;
    await Promise.all(active.map(async (panel, index) => {
      const history: Message[] = [...panel.turns.filter((t) => !t.error).map((t) => ({ role: t.role, content: t.content })),
        { role: "user", content: text }];
      setTurns(index, (turns) => [...turns, { role: "user", content: text }, { role: "assistant", content: "", streaming: true }]);
      const patchLast = (patch: Partial<Turn>) =>
        setTurns(index, (turns) => turns.map((t, i) => (i === turns.length - 1 ? { ...t, ...patch } : t)));
      try {
        const stats = await streamAnswer(api, settingsOf(form, panel.model), history, controller.signal,
          (content) => patchLast({ content }));
        patchLast({ stats, streaming: false });
      } catch (exc) {
        if ((exc as Error).name === "AbortError") patchLast({ streaming: false, stats: undefined });
        else patchLast({ streaming: false, error: exc as ApiError });
      }
    }));
    setRunning(false);
  }

  const nextHistory = (panel: Panel): Message[] => [
    ...panel.turns.filter((t) => !t.error).map((t) => ({ role: t.role, content: t.content })),
    { role: "user", content: input.trim() || "Hello!" },
  ];

  if (deployments.loading && !deployments.data) return <Loading what="deployed models" />;

  return (
    <section className="playground">
      <PageHeader title="Playground">
        <label className="inline"><input type="checkbox" checked={compare} onChange={(e) => setCompare(e.target.checked)} />
          Compare two models</label>
        <button type="button" className="secondary" onClick={() => setShowCode((s) => !s)} aria-expanded={showCode}>
          {showCode ? "Hide code" : "View code"}</button>
        <button type="button" className="secondary" onClick={() => setPanels((ps) => ps.map((p) => ({ ...p, turns: [] })))}
          disabled={running}>Clear</button>
      </PageHeader>
      <ErrorNote error={deployments.error} />
      {models.length === 0 && !deployments.error ? (
        <Empty title="No model is deployed yet.">
          <p>Deploy a model on the <Link to="/deployments">Deployments</Link> page (or from the
            <Link to="/models"> Models</Link> hub), then come back to chat with it.</p>
        </Empty>
      ) : (
        <div className="playground-grid">
          <aside className="card settings" aria-label="Settings">
            <Field label="System prompt">
              <textarea rows={3} value={form.system} onChange={(e) => setForm({ ...form, system: e.target.value })}
                placeholder="You are a helpful assistant." />
            </Field>
            <Field label="Temperature"><input type="number" step="0.1" min="0" max="2" value={form.temperature}
              onChange={(e) => setForm({ ...form, temperature: e.target.value })} /></Field>
            <Field label="Top P"><input type="number" step="0.05" min="0" max="1" value={form.topP}
              onChange={(e) => setForm({ ...form, topP: e.target.value })} /></Field>
            <Field label="Max tokens"><input type="number" min="1" value={form.maxTokens}
              onChange={(e) => setForm({ ...form, maxTokens: e.target.value })} /></Field>
            <Field label="Seed" hint="Same seed and prompt, same answer."><input type="number" value={form.seed}
              onChange={(e) => setForm({ ...form, seed: e.target.value })} placeholder="random" /></Field>
            <Field label="Stop sequences" hint="One per line, up to 4."><textarea rows={2} value={form.stop}
              onChange={(e) => setForm({ ...form, stop: e.target.value })} /></Field>
            <label className="inline"><input type="checkbox" checked={form.jsonMode}
              onChange={(e) => setForm({ ...form, jsonMode: e.target.checked })} /> JSON mode</label>
            {invalid && <p className="error" role="alert">{invalid} must be a number.</p>}
          </aside>
          <div className="conversations">
            {showCode && (
              <div className="code-views">
                {active.map((panel, i) => <CodeView key={i} model={panel.model}
                  body={chatRequest(settingsOf(form, panel.model), nextHistory(panel))} />)}
              </div>
            )}
            <div className={compare ? "panels two" : "panels"}>
              {active.map((panel, index) => (
                <div className="card panel" key={index} data-testid={`panel-${index}`}>
                  <label className="field">
                    <span className="field-label">{compare ? `Model ${"AB"[index]}` : "Model"}</span>
                    <select value={panel.model} aria-label={compare ? `Model ${"AB"[index]}` : "Model"}
                      onChange={(e) => setPanels((ps) => ps.map((p, i) => (i === index ? { ...p, model: e.target.value } : p)))}>
                      {models.map((m) => <option key={m.id} value={m.id}>{m.id}{m.state !== "ready" ? ` (${m.state})` : ""}</option>)}
                    </select>
                  </label>
                  <Transcript turns={panel.turns} />
                </div>
              ))}
            </div>
            <form className="composer" onSubmit={send}>
              <textarea rows={3} value={input} onChange={(e) => setInput(e.target.value)} aria-label="Message"
                placeholder="Type a message. Enter sends, Shift+Enter adds a line."
                onKeyDown={(e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); void send(); } }} />
              {running
                ? <button type="button" onClick={() => abort.current?.abort()}>Stop</button>
                : <button type="submit" disabled={!input.trim() || !!invalid}>Send</button>}
            </form>
          </div>
        </div>
      )}
    </section>
  );
}

function Transcript({ turns }: { turns: Turn[] }) {
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => { end.current?.scrollIntoView?.({ block: "nearest" }); }, [turns]);
  if (!turns.length) return <p className="muted transcript-empty">Send a message to start.</p>;
  return (
    <div className="transcript">
      {turns.map((turn, i) => (
        <div key={i} className={`turn turn-${turn.role}`} data-role={turn.role}>
          <div className="turn-role">{turn.role === "user" ? "You" : "Assistant"}</div>
          <div className="turn-text">{turn.content}{turn.streaming && <span className="cursor" aria-hidden>▍</span>}</div>
          {turn.error && <ErrorNote error={turn.error} />}
          {turn.stats && <Stats stats={turn.stats} />}
        </div>
      ))}
      <div ref={end} />
    </div>
  );
}

function Stats({ stats }: { stats: AnswerStats }) {
  return (
    <div className="answer-stats" aria-label="Answer statistics">
      <span>{count(stats.completionTokens)} tokens</span>
      <span>time to first token {ms(stats.ttftMs)}</span>
      <span>{stats.tokensPerSecond === null ? "—" : stats.tokensPerSecond.toFixed(1)} tokens/s</span>
      {stats.finishReason && <Badge state={stats.finishReason === "stop" ? "succeeded" : "queued"} label={stats.finishReason} />}
    </div>
  );
}

function CodeView({ body, model }: { body: ReturnType<typeof chatRequest>; model: string }) {
  const [tab, setTab] = useState<"python" | "curl">("python");
  const base = window.location.origin;
  const code = tab === "python" ? pythonSnippet(body, base) : curlSnippet(body, base);
  return (
    <div className="card code-view" aria-label={`Code for ${model}`}>
      <div className="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === "python"} onClick={() => setTab("python")}>Python (openai)</button>
        <button type="button" role="tab" aria-selected={tab === "curl"} onClick={() => setTab("curl")}>curl</button>
        <span className="muted">{model} · set OPENMAAS_API_KEY to your key</span>
        <CopyButton text={code} />
      </div>
      <pre><code>{code}</code></pre>
    </div>
  );
}
