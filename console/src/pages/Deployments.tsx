// Deployments: replicas, engine, state and live load; create, scale, stop.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import type { ApiError, Deployment } from "../api";
import { load, sample, tokensPerSecond, type LoadSample } from "../lib/load";
import { when } from "../lib/format";
import { useAction, useLoad } from "../lib/useLoad";
import { useApi, useSession } from "../session";
import { DeploymentProgress } from "../components/deploy";
import { Badge, Empty, ErrorNote, Field, FormError, Loading, PageHeader } from "../components/ui";

const POLL_MS = 2000;

export default function Deployments() {
  const api = useApi();
  const deployments = useLoad(() => api.deployments(), [api], POLL_MS);
  const [creating, setCreating] = useState(false);
  const rates = useRates(deployments.data?.data ?? []);
  const list = deployments.data?.data ?? [];
  return (
    <section>
      <PageHeader title="Deployments">
        <button type="button" onClick={() => setCreating((v) => !v)}>{creating ? "Close" : "New deployment"}</button>
      </PageHeader>
      {creating && <NewDeployment onCreated={() => void deployments.reload()} />}
      <ErrorNote error={deployments.error} />
      {deployments.loading && !deployments.data && <Loading what="deployments" />}
      {deployments.data && list.length === 0 && (
        <Empty title="Nothing is deployed.">
          <p>Create a deployment with the button above, or deploy a model from the <Link to="/models">Models</Link> hub.</p>
        </Empty>
      )}
      {list.map((d) => <DeploymentCard key={d.id} deployment={d} tps={rates[d.id] ?? null}
        onChanged={() => void deployments.reload()} />)}
    </section>
  );
}

/** Tokens per second per deployment, from the growth of its replicas' counters between polls. */
function useRates(list: Deployment[]): Record<string, number | null> {
  const previous = useRef(new Map<string, LoadSample>());
  const [rates, setRates] = useState<Record<string, number | null>>({});
  useEffect(() => {
    const now = Date.now();
    const next: Record<string, number | null> = {};
    for (const d of list) {
      const current = sample(d.replica_states, now);
      const rate = tokensPerSecond(previous.current.get(d.id), current);
      next[d.id] = rate;
      previous.current.set(d.id, current);
    }
    setRates((old) => Object.fromEntries(Object.entries(next).map(([id, r]) => [id, r ?? old[id] ?? null])));
  }, [list]);
  return rates;
}

function DeploymentCard({ deployment: d, tps, onChanged }: { deployment: Deployment; tps: number | null; onChanged: () => void }) {
  const api = useApi();
  const l = load(d.replica_states);
  const [scaling, setScaling] = useState(false);
  const stop = useAction(async () => { await api.stopDeployment(d.id); onChanged(); });
  function confirmStop() {
    if (window.confirm(`Stop deployment ${d.id} (${d.model})? Requests in flight finish first.`)) void stop.run();
  }
  return (
    <article className="card deployment" data-testid="deployment" aria-label={`Deployment ${d.id}`}>
      <header>
        <h2>{d.model}</h2>
        <Badge state={d.state} />
        <span className="muted mono">{d.id}</span>
        <span className="muted">{d.workspace_id ? `workspace ${d.workspace_id}` : "platform"}</span>
        <span className="spacer" />
        <button type="button" className="secondary" onClick={() => setScaling((v) => !v)}>Scale</button>
        <button type="button" className="danger" onClick={confirmStop} disabled={stop.busy}>Stop</button>
      </header>
      <ErrorNote error={stop.error} />
      <dl className="facts load">
        <div><dt>Replicas ready</dt><dd>{d.replicas_ready} / {d.replicas}</dd></div>
        <div><dt>Engine</dt><dd>{d.engine}</dd></div>
        <div><dt>Running</dt><dd data-testid="running">{l.running}</dd></div>
        <div><dt>Waiting</dt><dd>{l.waiting}</dd></div>
        <div><dt>Tokens/s</dt><dd data-testid="tps">{tps === null ? "—" : tps.toFixed(1)}</dd></div>
        <div><dt>KV cells</dt><dd>{l.kvUsed} / {l.kvTotal}</dd></div>
        <div><dt>Context</dt><dd>{d.n_ctx} tokens × {d.slots} slots</dd></div>
        <div><dt>Created</dt><dd>{when(d.created_at)}</dd></div>
      </dl>
      {scaling && <ScaleForm deployment={d} onDone={() => { setScaling(false); onChanged(); }} />}
      <table className="table replicas" aria-label="Replicas">
        <thead><tr><th>Replica</th><th>State</th><th>PID</th><th>Restarts</th><th>Running</th><th>Waiting</th><th>Last error</th></tr></thead>
        <tbody>{d.replica_states.map((r) => (
          <tr key={r.index}><td>{r.index}</td><td><Badge state={r.state} /></td><td>{r.pid ?? "—"}</td><td>{r.restarts}</td>
            <td>{r.running}</td><td>{r.waiting}</td><td className="error-text">{r.last_error ?? ""}</td></tr>))}
        </tbody>
      </table>
    </article>
  );
}

/** Scaling starts or stops replicas in place; the running ones keep serving meanwhile. */
function ScaleForm({ deployment: d, onDone }: { deployment: Deployment; onDone: () => void }) {
  const api = useApi();
  const [replicas, setReplicas] = useState(String(d.replicas + 1));
  const [error, setError] = useState<ApiError | null>(null);
  const [step, setStep] = useState<string | null>(null);
  async function scale(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      setStep("Scaling…");
      const wanted = Number(replicas);
      await api.scaleDeployment(d.id, wanted);
      for (let i = 0; i < 600; i++) {
        const current = await api.deployment(d.id);
        setStep(`${current.replicas_ready} of ${current.replicas} replicas ready…`);
        if (current.replicas_ready >= current.replicas) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      onDone();
    } catch (exc) {
      setError(exc as ApiError);
      setStep(null);
    }
  }
  return (
    <form className="form-row scale" onSubmit={scale} aria-label="Scale">
      <Field label="Replicas" param="replicas" error={error}>
        <input type="number" value={replicas} onChange={(e) => setReplicas(e.target.value)} />
      </Field>
      <button type="submit" disabled={step !== null}>Apply</button>
      <p className="hint">Replicas start or stop beside the running ones, which keep serving.</p>
      {step && <p className="progress-text" aria-live="polite">{step}</p>}
      <FormError error={error} fields={["replicas"]} />
    </form>
  );
}

function NewDeployment({ onCreated }: { onCreated: () => void }) {
  const { api, identity } = useSession();
  const models = useLoad(() => api.models(), [api]);
  const workspaces = useLoad(() => (identity.isAdmin ? api.workspaces() : Promise.resolve(null)), [api]);
  const [form, setForm] = useState({ model: "", replicas: "1", n_ctx: "", workspace_id: "" });
  const [created, setCreated] = useState<Deployment | null>(null);
  const model = form.model || models.data?.data[0]?.id || "";
  const { run, busy, error } = useAction(async () => {
    setCreated(await api.deploy({ model, replicas: Number(form.replicas),
      ...(form.n_ctx ? { n_ctx: Number(form.n_ctx) } : {}), ...(form.workspace_id ? { workspace_id: form.workspace_id } : {}) }));
    onCreated();
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    void run();
  }
  return (
    <form className="card" onSubmit={submit} aria-label="New deployment">
      <div className="form-row">
        <Field label="Model" param="model" error={error}>
          <select value={model} onChange={(e) => setForm({ ...form, model: e.target.value })}>
            {models.data?.data.map((m) => <option key={m.id} value={m.id}>{m.id}</option>)}
          </select>
        </Field>
        <Field label="Replicas" param="replicas" error={error}>
          <input type="number" value={form.replicas} onChange={(e) => setForm({ ...form, replicas: e.target.value })} />
        </Field>
        <Field label="Context (tokens)" param="n_ctx" error={error} hint="empty: the server's default">
          <input type="number" min={128} value={form.n_ctx} onChange={(e) => setForm({ ...form, n_ctx: e.target.value })} />
        </Field>
        {identity.isAdmin && (
          <Field label="For" param="workspace_id" error={error}>
            <select value={form.workspace_id} onChange={(e) => setForm({ ...form, workspace_id: e.target.value })}>
              <option value="">the platform (every workspace)</option>
              {workspaces.data?.data.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
            </select>
          </Field>
        )}
        <button type="submit" disabled={busy || !model}>{busy ? "Deploying…" : "Deploy"}</button>
      </div>
      <FormError error={error} fields={["model", "replicas", "n_ctx", "workspace_id"]} />
      {created && <DeploymentProgress key={created.id} deployment={created} />}
    </form>
  );
}
