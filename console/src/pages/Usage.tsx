// Usage: tokens and requests over time by model and key, for a date range; a table and its CSV.
import { useMemo, useState } from "react";
import { Link } from "react-router";
import { download, toCsv, type Column } from "../lib/csv";
import { count, ms } from "../lib/format";
import { dayRange, lastDays, seriesByDay, totals, type Metric, type UsageRow } from "../lib/usage";
import { useLoad } from "../lib/useLoad";
import { useApi } from "../session";
import { DailyBars } from "../components/charts";
import { Empty, ErrorNote, Field, Loading, PageHeader } from "../components/ui";

const METRICS: [Metric, string][] = [["total_tokens", "Tokens"], ["requests", "Requests"],
  ["completion_tokens", "Completion tokens"], ["prompt_tokens", "Prompt tokens"], ["errors", "Errors"]];

export default function Usage() {
  const api = useApi();
  const [range, setRange] = useState(() => lastDays(30));
  const [metric, setMetric] = useState<Metric>("total_tokens");
  const usage = useLoad(() => api.usage({ start: range.start, end: range.end, group_by: "day,model,key" }),
    [api, range.start, range.end]);
  const keys = useLoad(() => api.keys(), [api]);
  const keyName = useMemo(() => {
    const names = new Map((keys.data?.data ?? []).map((k) => [k.id, `${k.name || "unnamed"} (${k.prefix}…)`]));
    return (id: string) => names.get(id) ?? id;
  }, [keys.data]);
  // Calls that use no model (this console's own reads, key and deployment management) are counted too;
  // they are left out unless asked for, so the charts show inference.
  const [withPlatform, setWithPlatform] = useState(false);
  const all = usage.data?.data ?? [];
  const rows = useMemo(() => (withPlatform ? all : all.filter((r) => r.model)), [all, withPlatform]);
  const hidden = all.length - rows.length;
  const days = useMemo(() => dayRange(range.start, range.end), [range]);
  const byModel = useMemo(() => seriesByDay(rows, "model", metric, days), [rows, metric, days]);
  const byKey = useMemo(() => seriesByDay(rows, "key_id", metric, days, keyName), [rows, metric, days, keyName]);
  const sum = totals(rows);
  const metricLabel = METRICS.find(([m]) => m === metric)![1];

  const columns: Column<UsageRow>[] = [
    { header: "day", value: (r) => r.day }, { header: "model", value: (r) => r.model },
    { header: "key_id", value: (r) => r.key_id }, { header: "key", value: (r) => (r.key_id ? keyName(r.key_id) : "") },
    { header: "requests", value: (r) => r.requests }, { header: "prompt_tokens", value: (r) => r.prompt_tokens },
    { header: "completion_tokens", value: (r) => r.completion_tokens }, { header: "total_tokens", value: (r) => r.total_tokens },
    { header: "errors", value: (r) => r.errors }, { header: "avg_latency_ms", value: (r) => r.avg_latency_ms },
    { header: "avg_ttft_ms", value: (r) => r.avg_ttft_ms },
  ];
  const invalidRange = range.start > range.end;

  return (
    <section>
      <PageHeader title="Usage">
        <button type="button" className="secondary" disabled={!rows.length}
          onClick={() => download(`openmaas-usage-${range.start}-to-${range.end}.csv`, toCsv(columns, rows))}>Export CSV</button>
      </PageHeader>
      <div className="card form-row" aria-label="Date range">
        <Field label="From"><input type="date" value={range.start} max={range.end}
          onChange={(e) => e.target.value && setRange({ ...range, start: e.target.value })} /></Field>
        <Field label="To"><input type="date" value={range.end} min={range.start}
          onChange={(e) => e.target.value && setRange({ ...range, end: e.target.value })} /></Field>
        <div className="quick">
          {[7, 30, 90].map((n) => <button key={n} type="button" className="secondary small" onClick={() => setRange(lastDays(n))}>Last {n} days</button>)}
        </div>
        <Field label="Chart">
          <select value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
            {METRICS.map(([m, label]) => <option key={m} value={m}>{label}</option>)}
          </select>
        </Field>
        <label className="inline"><input type="checkbox" checked={withPlatform} onChange={(e) => setWithPlatform(e.target.checked)} />
          Include API calls that use no model</label>
      </div>
      {invalidRange && <p className="error" role="alert">The start date is after the end date.</p>}
      <ErrorNote error={usage.error} />
      {usage.loading && !usage.data && <Loading what="usage" />}
      {usage.data && rows.length === 0 && (
        <Empty title="No model requests in this range.">
          <p>Send a message in the <Link to="/playground">Playground</Link> or call the API with a key, then come back.
            {hidden > 0 && ` (${hidden} row${hidden > 1 ? "s" : ""} of calls that use no model are hidden.)`}</p>
        </Empty>
      )}
      {rows.length > 0 && (
        <>
          <dl className="facts totals" aria-label="Totals">
            <div><dt>Requests</dt><dd>{count(sum.requests)}</dd></div>
            <div><dt>Prompt tokens</dt><dd>{count(sum.prompt_tokens)}</dd></div>
            <div><dt>Completion tokens</dt><dd>{count(sum.completion_tokens)}</dd></div>
            <div><dt>Total tokens</dt><dd>{count(sum.total_tokens)}</dd></div>
            <div><dt>Errors</dt><dd>{count(sum.errors)}</dd></div>
          </dl>
          <div className="charts">
            <div className="card"><h2>{metricLabel} by model</h2><DailyBars data={byModel.data} names={byModel.names} label="by model" /></div>
            <div className="card"><h2>{metricLabel} by key</h2><DailyBars data={byKey.data} names={byKey.names} label="by key" /></div>
          </div>
          <table className="table" aria-label="Usage">
            <thead><tr><th>Day</th><th>Model</th><th>Key</th><th>Requests</th><th>Prompt</th><th>Completion</th><th>Total</th>
              <th>Errors</th><th>Mean latency</th><th>Mean TTFT</th></tr></thead>
            <tbody>{rows.map((r, i) => (
              <tr key={i}><td>{r.day}</td><td>{r.model ?? "—"}</td><td>{r.key_id ? keyName(r.key_id) : "—"}</td>
                <td>{r.requests}</td><td>{r.prompt_tokens}</td><td>{r.completion_tokens}</td><td>{r.total_tokens}</td>
                <td>{r.errors}</td><td>{ms(r.avg_latency_ms)}</td><td>{ms(r.avg_ttft_ms)}</td></tr>))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
