// The hub: every model this key may use, with its card; an admin imports a GGUF from the server's disk.
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import type { ModelCard } from "../api";
import { bytes, count, when } from "../lib/format";
import { useAction, useLoad } from "../lib/useLoad";
import { useApi, useSession } from "../session";
import { DeployButton } from "../components/deploy";
import { Badge, Empty, ErrorNote, Field, FormError, Loading, PageHeader } from "../components/ui";

export default function Models() {
  const { api, identity } = useSession();
  const models = useLoad(() => api.models(), [api]);
  const deployments = useLoad(() => api.deployments(), [api], 10000);
  const deployed = new Set((deployments.data?.data ?? []).map((d) => d.model));
  const workspaces = useLoad(() => api.workspaces(), [api]);
  const owners = new Map((workspaces.data?.data ?? []).map((w) => [w.id, w.name]));
  const [importing, setImporting] = useState(false);

  return (
    <section>
      <PageHeader title="Models">
        {identity.isAdmin && <button type="button" className="secondary" onClick={() => setImporting((v) => !v)}>
          {importing ? "Close import" : "Import a GGUF"}</button>}
      </PageHeader>
      {importing && <ImportForm onDone={() => { setImporting(false); void models.reload(); }} />}
      <ErrorNote error={models.error} />
      {models.loading && !models.data && <Loading what="models" />}
      {models.data && models.data.data.length === 0 && (
        <Empty title="The hub has no models you can use.">
          <p>{identity.isAdmin ? "Import a GGUF file with the button above." : "Ask an admin to import one, or fine-tune one."}</p>
        </Empty>
      )}
      <div className="model-grid">
        {models.data?.data.map((m) => <ModelCardView key={m.id} model={m} deployed={deployed.has(m.id)}
          owner={owners.get(m.owned_by) ?? m.owned_by} />)}
      </div>
    </section>
  );
}

function ModelCardView({ model, deployed, owner }: { model: ModelCard; deployed: boolean; owner: string }) {
  const tuned = model.base_model !== null;
  const facts: [string, string | null][] = [
    ["Family", model.family], ["Architecture", model.architecture],
    ["Size", model.parameters ? `${count(model.parameters)} parameters` : null],
    ["Quantization", model.quantization], ["Context", model.context_length ? `${model.context_length} tokens` : null],
    ["License", model.license], ["Source", model.source], ["File", bytes(model.size_bytes)],
    ["Owner", owner], ["Added", when(model.created)],
  ];
  return (
    <article className="card model-card" data-testid="model-card" aria-label={model.id}>
      <header>
        <h2>{model.id}</h2>
        {deployed ? <Badge state="ready" label="deployed" /> : <Badge state="stopped" label="not deployed" />}
        {tuned && <Badge state="running" label="fine-tuned" />}
      </header>
      <dl className="facts">
        {facts.filter(([, v]) => v).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}
        {tuned && <div><dt>Base model</dt><dd>{model.base_model}</dd></div>}
      </dl>
      {tuned && <Lineage extra={model.extra ?? {}} />}
      {model.extra && Object.keys(model.extra).length > 0 && <Extra extra={model.extra} />}
      {model.sha256 && <p className="muted mono" title="sha256">sha256 {model.sha256.slice(0, 16)}…</p>}
      <footer>
        {deployed
          ? <Link className="button" to={`/playground?model=${encodeURIComponent(model.id)}`}>Try in playground</Link>
          : <DeployButton model={model.id} />}
      </footer>
    </article>
  );
}

type Side = { loss?: number | null; perplexity?: number | null };

/** A tuned model's lineage: its dataset, job, hyperparameters and evaluation against its base. */
function Lineage({ extra }: { extra: Record<string, unknown> }) {
  const hyper = (extra.hyperparameters ?? {}) as Record<string, unknown>;
  const metrics = (extra.metrics ?? {}) as { evaluation?: { base?: Side; tuned?: Side } };
  const evaluation = metrics.evaluation;
  const job = extra.fine_tuning_job as string | undefined;
  return (
    <dl className="facts lineage" aria-label="Lineage">
      <div><dt>Dataset</dt><dd className="mono">{String(extra.training_file ?? "—")}
        {extra.validation_file ? ` (validation ${String(extra.validation_file)})` : ""}</dd></div>
      {job && <div><dt>Job</dt><dd><Link to={`/fine-tuning/${job}`} className="mono">{job}</Link></dd></div>}
      <div><dt>Hyperparameters</dt><dd>{Object.entries(hyper).map(([k, v]) => `${k} ${describe(v)}`).join(", ") || "—"}</dd></div>
      {evaluation?.base && evaluation?.tuned && (
        <div><dt>Evaluation (validation loss)</dt><dd>base {num(evaluation.base.loss)} → tuned {num(evaluation.tuned.loss)}
          {" "}(perplexity {num(evaluation.base.perplexity, 2)} → {num(evaluation.tuned.perplexity, 2)})</dd></div>
      )}
    </dl>
  );
}

function num(value: number | null | undefined, digits = 4): string {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}

/** Everything else the card records (GGUF metadata, adapter size, raw training metrics). */
function Extra({ extra }: { extra: Record<string, unknown> }) {
  return (
    <details className="extra">
      <summary>More about this model</summary>
      <dl className="facts">
        {Object.entries(extra).map(([k, v]) => (
          <div key={k}><dt>{k.replace(/_/g, " ")}</dt><dd>{describe(v)}</dd></div>
        ))}
      </dl>
    </details>
  );
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) return value.map(describe).join(", ");
  return Object.entries(value as Record<string, unknown>).map(([k, v]) =>
    `${k}: ${typeof v === "object" && v !== null ? describe(v) : typeof v === "number" ? Math.round(v * 1e4) / 1e4 : String(v)}`)
    .join("; ");
}

function ImportForm({ onDone }: { onDone: () => void }) {
  const api = useApi();
  const workspaces = useLoad(() => api.workspaces(), [api]);
  const [form, setForm] = useState({ path: "", name: "", workspace_id: "" });
  const { run, busy, error } = useAction(async () => {
    await api.importModel({ path: form.path, name: form.name, workspace_id: form.workspace_id || undefined });
    onDone();
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    void run();
  }
  return (
    <form className="card form-row" onSubmit={submit} aria-label="Import a model">
      <Field label="GGUF path on the server" param="path" error={error}>
        <input value={form.path} onChange={(e) => setForm({ ...form, path: e.target.value })} placeholder="/models/my-model.gguf" required />
      </Field>
      <Field label="Model id" param="name" error={error} hint="The name clients will use.">
        <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
      </Field>
      <Field label="Owner" param="workspace_id" error={error}>
        <select value={form.workspace_id} onChange={(e) => setForm({ ...form, workspace_id: e.target.value })}>
          <option value="">Platform (every workspace)</option>
          {workspaces.data?.data.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
        </select>
      </Field>
      <button type="submit" disabled={busy}>{busy ? "Importing…" : "Import"}</button>
      <FormError error={error} fields={["path", "name", "workspace_id"]} />
    </form>
  );
}
