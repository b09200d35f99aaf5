// Status and inbox: component states and uptime, incidents and maintenance, notification channels, the inbox.
import { useState, type FormEvent } from "react";
import type { ApiError, Incident, Subscription } from "../api";
import { ms, percent, when } from "../lib/format";
import { useLoad } from "../lib/useLoad";
import { useApi } from "../session";
import { UptimeBars } from "../components/charts";
import { Badge, CopyButton, Empty, ErrorNote, Field, FormError, Loading, PageHeader } from "../components/ui";

export default function Status() {
  const api = useApi();
  const status = useLoad(() => api.status(), [api], 10000);
  const s = status.data;
  return (
    <section>
      <PageHeader title="Status & inbox">
        <a className="button secondary" href="/status" target="_blank" rel="noreferrer">Public status page</a>
      </PageHeader>
      <ErrorNote error={status.error} />
      {status.loading && !s && <Loading what="the platform's status" />}
      {s && (
        <>
          <div className={`card overall overall-${s.status.indicator}`} data-testid="overall">
            <Badge state={s.status.indicator} /> <strong>{s.status.description}</strong>
          </div>
          <h2>Components</h2>
          {s.components.length === 0 ? <Empty title="No component has been probed yet."><p>The monitor probes every
            component shortly after the server starts; this page refreshes on its own.</p></Empty> : (
            <table className="table components" aria-label="Components">
              <thead><tr><th>Component</th><th>State</th><th>Latency</th><th>24 h</th><th>7 d</th><th>30 d</th><th>90 d</th><th className="bars">Last 90 days</th></tr></thead>
              <tbody>{s.components.map((c) => (
                <tr key={c.id}>
                  <td><strong>{c.name}</strong><div className="muted">{c.kind}{c.detail ? ` · ${c.detail}` : ""}</div></td>
                  <td><Badge state={c.state} label={c.state_label} /><div className="muted">since {when(c.since)}</div></td>
                  <td>{ms(c.latency_ms)}</td>
                  {["24h", "7d", "30d", "90d"].map((w) => <td key={w}>{percent(c.uptime?.[w] ?? null)}</td>)}
                  <td className="bars">{c.days.length > 0 && <UptimeBars days={c.days} name={c.name} />}</td>
                </tr>))}
              </tbody>
            </table>
          )}
          <h2>Incidents</h2>
          {s.incidents.open.length === 0 && <p className="muted">No open incidents.</p>}
          {s.incidents.open.map((i) => <IncidentView key={i.id} incident={i} />)}
          {s.incidents.past.length > 0 && (
            <details><summary>Resolved in the last 14 days ({s.incidents.past.length})</summary>
              {s.incidents.past.map((i) => <IncidentView key={i.id} incident={i} />)}</details>
          )}
          {s.maintenance.length > 0 && (
            <>
              <h2>Maintenance</h2>
              <ul className="maintenance">{s.maintenance.map((m) => (
                <li key={m.id}><Badge state={m.status === "in_progress" ? "under_maintenance" : "queued"} label={m.status} />{" "}
                  <strong>{m.title}</strong> {when(m.starts_at)} – {when(m.ends_at)}
                  {m.components?.length ? <span className="muted"> · {m.components.map((c) => c.name).join(", ")}</span> : null}</li>))}
              </ul>
            </>
          )}
        </>
      )}
      <div className="two-columns">
        <Inbox />
        <Subscriptions />
      </div>
    </section>
  );
}

function IncidentView({ incident: i }: { incident: Incident }) {
  return (
    <article className="card incident" id={i.id}>
      <header><strong>{i.title}</strong> <Badge state={i.status} /> <Badge state={i.impact} />
        <span className="muted">{i.automatic ? "opened by the monitor" : "declared"} · {when(i.created_at)}</span></header>
      {i.components.length > 0 && <p className="muted">Affects {i.components.map((c) => c.name).join(", ")}</p>}
      <ol className="updates">{[...i.updates].reverse().map((u, n) => (
        <li key={n}><Badge state={u.status} /> {u.message} <span className="muted">{when(u.created_at)}</span></li>))}
      </ol>
    </article>
  );
}

function Inbox() {
  const api = useApi();
  const inbox = useLoad(() => api.inbox(), [api], 10000);
  const [error, setError] = useState<ApiError | null>(null);
  async function act(action: () => Promise<unknown>) {
    setError(null);
    try { await action(); await inbox.reload(); } catch (exc) { setError(exc as ApiError); }
  }
  const messages = inbox.data?.data ?? [];
  return (
    <div className="card inbox" aria-label="Inbox">
      <header className="row"><h2>Inbox {inbox.data ? <span className="badge badge-info">{inbox.data.unread} unread</span> : null}</h2>
        <span className="spacer" />
        {inbox.data && inbox.data.unread > 0 && <button type="button" className="secondary small"
          onClick={() => act(() => api.markAllRead())}>Mark all read</button>}</header>
      <ErrorNote error={inbox.error ?? error} />
      {inbox.loading && !inbox.data && <Loading what="the inbox" />}
      {inbox.data && messages.length === 0 && <Empty title="Nothing in the inbox.">
        <p>Incidents that touch your workspace arrive here as they open, change and resolve.</p></Empty>}
      <ul className="messages">{messages.map((m) => (
        <li key={m.id} className={m.read_at ? "read" : "unread"}>
          <div><strong>{m.title}</strong> <span className="muted">{m.event} · {when(m.created_at)}</span></div>
          <p>{m.body}</p>
          {!m.read_at && <button type="button" className="link" onClick={() => act(() => api.markRead(m.id))}>Mark read</button>}
        </li>))}
      </ul>
    </div>
  );
}

function Subscriptions() {
  const api = useApi();
  const subs = useLoad(() => api.subscriptions(), [api]);
  const [form, setForm] = useState<{ channel: "webhook" | "email"; target: string }>({ channel: "webhook", target: "" });
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<Subscription | null>(null);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const s = await api.subscribe(form.channel === "webhook" ? { channel: "webhook", url: form.target }
        : { channel: "email", email: form.target });
      setCreated(s);
      setForm({ ...form, target: "" });
      await subs.reload();
    } catch (exc) {
      setError(exc as ApiError);
    }
  }
  async function remove(id: string) {
    setError(null);
    try { await api.unsubscribe(id); await subs.reload(); } catch (exc) { setError(exc as ApiError); }
  }
  const list = subs.data?.data ?? [];
  return (
    <div className="card subscriptions" aria-label="Notification channels">
      <h2>Notification channels</h2>
      <p className="muted">The inbox is always on. Add webhooks and email addresses to hear about incidents elsewhere.</p>
      <ErrorNote error={subs.error} />
      {subs.data && list.length === 0 && <p className="muted">No webhook or email yet.</p>}
      <ul>{list.map((s) => (
        <li key={s.id}><Badge state="active" label={s.channel} /> <span className="mono">{s.url ?? s.email}</span>{" "}
          <button type="button" className="link" onClick={() => remove(s.id)}>Remove</button></li>))}
      </ul>
      <form className="form-row" onSubmit={submit} aria-label="New channel">
        <Field label="Channel" param="channel" error={error}>
          <select value={form.channel} onChange={(e) => setForm({ ...form, channel: e.target.value as "webhook" | "email" })}>
            <option value="webhook">Webhook</option><option value="email">Email</option>
          </select>
        </Field>
        <Field label={form.channel === "webhook" ? "URL" : "Address"} param={form.channel === "webhook" ? "url" : "email"} error={error}>
          <input value={form.target} onChange={(e) => setForm({ ...form, target: e.target.value })}
            placeholder={form.channel === "webhook" ? "https://example.com/hooks/openmaas" : "oncall@example.com"} required />
        </Field>
        <button type="submit">Add</button>
      </form>
      <FormError error={error} fields={["channel", "url", "email"]} />
      {created?.secret && (
        <div className="once" role="status">
          <p>Signing secret for {created.url} (shown once): verify the <code>OpenMaaS-Signature</code> header with it.</p>
          <div className="key-once"><code>{created.secret}</code><CopyButton text={created.secret} /></div>
        </div>
      )}
    </div>
  );
}
