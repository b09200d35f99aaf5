// Fine-tuning: start a job from a training file and a base model; the list of jobs.
import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import type { Job } from "../api";
import { hyperparameters, isActive } from "../lib/jobs";
import { when } from "../lib/format";
import { useAction, useLoad } from "../lib/useLoad";
import { useApi } from "../session";
import { Badge, Empty, ErrorNote, Field, FormError, Loading, PageHeader } from "../components/ui";

const HYPER_FIELDS = [
  ["n_epochs", "Epochs"],
  ["batch_size", "Batch size"],
  ["learning_rate_multiplier", "Learning rate multiplier"],
  ["lora_rank", "LoRA rank"],
  ["lora_alpha", "LoRA alpha"],
] as const;

export default function FineTuning() {
  const api = useApi();
  const jobs = useLoad(() => api.jobs(), [api], 3000);
  const list = jobs.data?.data ?? [];
  return (
    <section>
      <PageHeader title="Fine-tuning" />
      <NewJob />
      <h2>Jobs</h2>
      <ErrorNote error={jobs.error} />
      {jobs.loading && !jobs.data && <Loading what="jobs" />}
      {jobs.data && list.length === 0 && (
        <Empty title="No fine-tuning jobs yet.">
          <p>Upload a training file on the <Link to="/data">Data</Link> page, then start a job with the form above.</p>
        </Empty>
      )}
      {list.length > 0 && <JobTable jobs={list} />}
    </section>
  );
}

function JobTable({ jobs }: { jobs: Job[] }) {
  return (
    <table className="table" aria-label="Jobs">
      <thead><tr><th>Job</th><th>Base model</th><th>Status</th><th>Progress</th><th>Tuned model</th><th>Created</th><th>Finished</th></tr></thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.id}>
            <td><Link to={`/fine-tuning/${j.id}`} className="mono">{j.id}</Link></td>
            <td>{j.model}</td>
            <td><Badge state={j.status} /></td>
            <td>{j.progress && j.progress.total_steps ? `${j.progress.step} / ${j.progress.total_steps}` : isActive(j.status) ? "…" : "—"}</td>
            <td className="mono">{j.fine_tuned_model ?? "—"}</td>
            <td>{when(j.created_at)}</td>
            <td>{when(j.finished_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function NewJob() {
  const api = useApi();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const models = useLoad(() => api.models(), [api]);
  const files = useLoad(() => api.files(), [api]);
  const [form, setForm] = useState({ model: "", training_file: params.get("training_file") ?? "", validation_file: "",
    suffix: "", seed: "" });
  const [mode, setMode] = useState<"auto" | "explicit">("auto");
  const [hyper, setHyper] = useState<Record<string, string>>({ n_epochs: "auto", batch_size: "auto",
    learning_rate_multiplier: "auto", lora_rank: "", lora_alpha: "" });
  const fileList = (files.data?.data ?? []).filter((f) => f.purpose === "fine-tune");
  // A tuned model is an adapter over its base: a new job tunes the base.
  const baseModels = (models.data?.data ?? []).filter((m) => m.source !== "fine-tune");
  useEffect(() => {
    if (!form.model && baseModels.length) setForm((f) => ({ ...f, model: baseModels[0].id }));
  }, [baseModels, form.model]);
  useEffect(() => {
    if (!form.training_file && fileList.length) setForm((f) => ({ ...f, training_file: fileList[0].id }));
  }, [fileList, form.training_file]);

  const { run, busy, error } = useAction(async () => {
    const body: Record<string, unknown> = { model: form.model, training_file: form.training_file };
    if (form.validation_file) body.validation_file = form.validation_file;
    if (form.suffix.trim()) body.suffix = form.suffix.trim();
    if (form.seed.trim()) body.seed = Number(form.seed);
    if (mode === "explicit") body.hyperparameters = hyperparameters(hyper);
    const job = await api.createJob(body);
    navigate(`/fine-tuning/${job.id}`);
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    void run();
  }

  const fields = ["model", "training_file", "validation_file", "suffix", "seed",
    ...HYPER_FIELDS.map(([k]) => k), ...HYPER_FIELDS.map(([k]) => `hyperparameters.${k}`)];
  return (
    <form className="card" onSubmit={submit} aria-label="New fine-tuning job">
      <h2>New job</h2>
      <ErrorNote error={files.error ?? models.error} />
      <div className="form-grid">
        <Field label="Base model" param="model" error={error}>
          <select value={form.model} onChange={(e) => setForm({ ...form, model: e.target.value })} required>
            {baseModels.map((m) => <option key={m.id} value={m.id}>{m.id}</option>)}
          </select>
        </Field>
        <Field label="Training file" param="training_file" error={error}>
          <select value={form.training_file} onChange={(e) => setForm({ ...form, training_file: e.target.value })} required>
            {fileList.length === 0 && <option value="">No files: upload one on the Data page</option>}
            {fileList.map((f) => <option key={f.id} value={f.id}>{f.filename} ({f.id})</option>)}
          </select>
        </Field>
        <Field label="Validation file (optional)" param="validation_file" error={error}>
          <select value={form.validation_file} onChange={(e) => setForm({ ...form, validation_file: e.target.value })}>
            <option value="">none</option>
            {fileList.map((f) => <option key={f.id} value={f.id}>{f.filename} ({f.id})</option>)}
          </select>
        </Field>
        <Field label="Suffix" param="suffix" error={error} hint="Part of the tuned model's name.">
          <input value={form.suffix} onChange={(e) => setForm({ ...form, suffix: e.target.value })} maxLength={40} />
        </Field>
        <Field label="Seed" param="seed" error={error}>
          <input type="number" value={form.seed} onChange={(e) => setForm({ ...form, seed: e.target.value })} placeholder="random" />
        </Field>
      </div>
      <fieldset className="hyper">
        <legend>Hyperparameters</legend>
        <label className="inline"><input type="radio" name="hyper-mode" checked={mode === "auto"} onChange={() => setMode("auto")} />
          Auto (chosen from the data)</label>
        <label className="inline"><input type="radio" name="hyper-mode" checked={mode === "explicit"} onChange={() => setMode("explicit")} />
          Explicit</label>
        {mode === "explicit" && (
          <div className="form-grid">
            {HYPER_FIELDS.map(([name, label]) => (
              <Field key={name} label={label} param={error?.param?.endsWith(name) ? error.param : name} error={error}
                hint={name.startsWith("lora") ? "empty: the default" : "a number or auto"}>
                <input aria-label={label} value={hyper[name]} onChange={(e) => setHyper({ ...hyper, [name]: e.target.value })} />
              </Field>
            ))}
          </div>
        )}
      </fieldset>
      <button type="submit" disabled={busy || !form.training_file || !form.model}>{busy ? "Starting…" : "Start fine-tuning"}</button>
      <FormError error={error} fields={fields} />
    </form>
  );
}
