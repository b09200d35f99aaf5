// One fine-tuning job: status, a live loss chart, events, checkpoints, cancel, evaluation, deploy.
import { useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError, type Api, type Evaluation, type Job } from "../api";
import { isActive, latestMetrics, lossCurve, mergeEvents, type JobEvent } from "../lib/jobs";
import { count, duration, when } from "../lib/format";
import { useAction, useLoad } from "../lib/useLoad";
import { useApi } from "../session";
import { LossChart } from "../components/charts";
import { DeployButton } from "../components/deploy";
import { Badge, Empty, ErrorNote, Loading, PageHeader, ProgressBar } from "../components/ui";

const POLL_MS = 2000;

/** Every event of a job: all pages on the first call, then the newest page on each poll. */
function useEvents(api: Api, jobId: string, live: boolean) {
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const loadedAll = useRef(false);
  useEffect(() => {
    let stopped = false;
    async function fetchAll() {
      let all: JobEvent[] = [];
      let after: string | undefined;
      for (let page = 0; page < 50; page++) {
        const batch = await api.events(jobId, { limit: 100, after });
        all = mergeEvents(all, batch.data);
        if (!batch.has_more || batch.data.length === 0) break;
        after = batch.data[batch.data.length - 1].id;
      }
      return all;
    }
    async function poll() {
      try {
        const incoming = loadedAll.current ? (await api.events(jobId, { limit: 100 })).data : await fetchAll();
        loadedAll.current = true;
        if (!stopped) { setEvents((known) => mergeEvents(known, incoming)); setError(null); }
      } catch (exc) {
        if (!stopped) setError(exc as ApiError);
      }
    }
    void poll();
    if (!live) return () => { stopped = true; };
    const timer = setInterval(poll, POLL_MS);
    return () => { stopped = true; clearInterval(timer); };
  }, [api, jobId, live]);
  return { events, error };
}

export default function JobPage() {
  const { jobId = "" } = useParams();
  const api = useApi();
  const [live, setLive] = useState(true);
  const job = useLoad(() => api.job(jobId), [api, jobId], live ? POLL_MS : null);
  useEffect(() => { if (job.data && !isActive(job.data.status)) setLive(false); }, [job.data]);
  const { events, error: eventsError } = useEvents(api, jobId, live);

  if (job.loading && !job.data) return <Loading what={`job ${jobId}`} />;
  if (!job.data) {
    return <section><PageHeader title="Fine-tuning job" /><ErrorNote error={job.error} />
      <p><Link to="/fine-tuning">Back to the jobs</Link></p></section>;
  }
  const j = job.data;
  const points = lossCurve(events);
  const metrics = latestMetrics(events);

  return (
    <section className="job">
      <PageHeader title={`Job ${j.id}`}>
        <Badge state={j.status} />
        {isActive(j.status) && <CancelButton job={j} onCancelled={() => void job.reload()} />}
      </PageHeader>
      <p><Link to="/fine-tuning">← All jobs</Link></p>
      <ErrorNote error={job.error} />
      {j.error && j.status === "failed" && <div className="error" role="alert"><p className="error-message">The job failed: {j.error.message}</p>
        {j.error.param && <p className="error-meta">{j.error.code} · {j.error.param}</p>}</div>}
      <JobProgress job={j} eta={metrics?.eta_seconds ?? null} tps={metrics?.tokens_per_second ?? null} />
      <dl className="facts card">
        <div><dt>Base model</dt><dd>{j.model}</dd></div>
        <div><dt>Training file</dt><dd className="mono">{j.training_file}</dd></div>
        <div><dt>Validation file</dt><dd className="mono">{j.validation_file ?? "none"}</dd></div>
        <div><dt>Hyperparameters</dt><dd>{Object.entries(j.hyperparameters ?? {}).map(([k, v]) => `${k} ${v}`).join(", ") || "auto"}</dd></div>
        <div><dt>Seed</dt><dd>{j.seed ?? "—"}</dd></div>
        <div><dt>Trained tokens</dt><dd>{count(j.trained_tokens)}</dd></div>
        <div><dt>Created</dt><dd>{when(j.created_at)}</dd></div>
        <div><dt>Finished</dt><dd>{when(j.finished_at)}</dd></div>
        <div><dt>Tuned model</dt><dd className="mono">{j.fine_tuned_model ?? "—"}</dd></div>
      </dl>
      {j.status === "succeeded" && j.fine_tuned_model && (
        <div className="card">
          <h2>Deploy</h2>
          <DeployButton model={j.fine_tuned_model} label={`Deploy ${j.fine_tuned_model}`} />
        </div>
      )}

      <h2>Loss</h2>
      <ErrorNote error={eventsError} />
      {points.length > 0 ? <LossChart points={points} totalSteps={j.progress?.total_steps} /> : (
        <Empty title={isActive(j.status) ? "Waiting for the first training step…" : "This job reported no loss."}>
          {isActive(j.status) && <p>The chart draws itself as the trainer reports; this page refreshes on its own.</p>}
        </Empty>
      )}

      {j.status === "succeeded" && <EvaluationView jobId={j.id} />}
      <Checkpoints jobId={j.id} status={j.status} />

      <h2>Events</h2>
      {events.length === 0 ? <p className="muted">No events yet.</p> : (
        <ol className="events" aria-label="Events">
          {events.slice(0, 100).map((e) => (
            <li key={e.id} className={`event event-${e.level}`}>
              <span className="muted">{when(e.created_at)}</span> <span className="event-level">{e.level}</span> {e.message}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function JobProgress({ job, eta, tps }: { job: Job; eta: number | null; tps: number | null }) {
  const p = job.progress;
  if (!isActive(job.status) && !p) return null;
  const fraction = p && p.total_steps ? p.step / p.total_steps : null;
  const label = job.status === "running" && p
    ? `Step ${p.step} of ${p.total_steps}` + (tps ? ` · ${tps.toFixed(0)} tokens/s` : "")
      + (eta !== null ? ` · about ${duration(eta)} left` : job.estimated_finish ? ` · done by ${when(job.estimated_finish)}` : "")
    : job.status.replace(/_/g, " ") + (p ? ` · step ${p.step} of ${p.total_steps}` : "");
  return <div className="card" data-testid="job-progress"><ProgressBar value={isActive(job.status) || fraction ? fraction : 1} label={label} /></div>;
}

function CancelButton({ job, onCancelled }: { job: Job; onCancelled: () => void }) {
  const api = useApi();
  const cancel = useAction(async () => { await api.cancelJob(job.id); onCancelled(); });
  return (
    <span>
      <button type="button" className="danger" disabled={cancel.busy} onClick={() => {
        if (window.confirm(`Cancel job ${job.id}? The work done so far is kept as checkpoints.`)) void cancel.run();
      }}>{cancel.busy ? "Cancelling…" : "Cancel job"}</button>
      <ErrorNote error={cancel.error} />
    </span>
  );
}

function Checkpoints({ jobId, status }: { jobId: string; status: string }) {
  const api = useApi();
  const checkpoints = useLoad(() => api.checkpoints(jobId), [api, jobId, status], isActive(status) ? 2000 : null);
  const list = checkpoints.data?.data ?? [];
  return (
    <>
      <h2>Checkpoints</h2>
      <ErrorNote error={checkpoints.error} />
      {checkpoints.data && list.length === 0 && <p className="muted">No checkpoints yet.</p>}
      {list.length > 0 && (
        <table className="table" aria-label="Checkpoints">
          <thead><tr><th>Step</th><th>Checkpoint</th><th>Train loss</th><th>Validation loss</th><th>Saved</th></tr></thead>
          <tbody>{list.map((c) => (
            <tr key={c.id}><td>{c.step_number}</td><td className="mono">{c.fine_tuned_model_checkpoint}</td>
              <td>{c.metrics?.train_loss?.toFixed(4) ?? "—"}</td><td>{c.metrics?.valid_loss?.toFixed(4) ?? "—"}</td>
              <td>{when(c.created_at)}</td></tr>))}
          </tbody>
        </table>
      )}
    </>
  );
}

function EvaluationView({ jobId }: { jobId: string }) {
  const api = useApi();
  const evaluation = useLoad<Evaluation>(() => api.evaluation(jobId), [api, jobId]);
  const e = evaluation.data;
  return (
    <div className="card evaluation" data-testid="evaluation">
      <h2>Evaluation</h2>
      <ErrorNote error={evaluation.error} />
      {evaluation.loading && !e && <Loading what="the evaluation" />}
      {e?.validation && (
        <table className="table" aria-label="Validation">
          <thead><tr><th>On {e.validation.examples ?? "the"} validation examples</th><th>Base</th><th>Tuned</th></tr></thead>
          <tbody>
            <tr><th>Validation loss</th><td>{fixed(e.validation.base.loss, 4)}</td><td>{fixed(e.validation.tuned.loss, 4)}</td></tr>
            <tr><th>Perplexity</th><td>{fixed(e.validation.base.perplexity, 2)}</td><td>{fixed(e.validation.tuned.perplexity, 2)}</td></tr>
          </tbody>
        </table>
      )}
      {e && e.samples.length > 0 && (
        <table className="table samples" aria-label="Answers, base and tuned">
          <thead><tr><th>Prompt</th><th>Reference</th><th>Base answer</th><th>Tuned answer</th></tr></thead>
          <tbody>{e.samples.map((s, i) => (
            <tr key={i}><td><Prompt prompt={s.prompt} /></td><td>{s.reference}</td><td>{s.base}</td><td>{s.tuned}</td></tr>))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}

/** A sample's prompt: text, or the conversation before the answer (system and earlier turns shown small). */
function Prompt({ prompt }: { prompt: Evaluation["samples"][number]["prompt"] }) {
  if (typeof prompt === "string") return <>{prompt}</>;
  return (
    <>{prompt.map((m, i) => (
      <div key={i} className={i === prompt.length - 1 ? "" : "muted"}>
        {i < prompt.length - 1 && <span className="turn-role">{m.role}</span>}{m.content}
      </div>))}</>
  );
}
