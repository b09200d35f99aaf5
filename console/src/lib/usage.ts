// Usage rows from GET /api/usage, shaped for charts: one point per day, one series per model or key.

export type UsageRow = {
  day?: string;
  model?: string | null;
  key_id?: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  errors: number;
  avg_latency_ms: number | null;
  avg_ttft_ms: number | null;
};

export type Metric = "total_tokens" | "requests" | "prompt_tokens" | "completion_tokens" | "errors";
export type Dimension = "model" | "key_id";
export type DayPoint = { day: string } & Record<string, number | string>;

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Every UTC day from start to end inclusive (ISO dates), so days without traffic still show. */
export function dayRange(start: string, end: string): string[] {
  const days: string[] = [];
  const last = new Date(end + "T00:00:00Z");
  for (let d = new Date(start + "T00:00:00Z"); d <= last && days.length < 3660; d.setUTCDate(d.getUTCDate() + 1)) {
    days.push(isoDay(d));
  }
  return days;
}

/** The last `days` days ending today (UTC), as the date inputs want them. */
export function lastDays(days: number, today: Date = new Date()): { start: string; end: string } {
  const start = new Date(today);
  start.setUTCDate(start.getUTCDate() - (days - 1));
  return { start: isoDay(start), end: isoDay(today) };
}

export const UNKNOWN = "(no model)";

/** One point per day with a field per series name; series ordered by their total, largest first. */
export function seriesByDay(rows: UsageRow[], dimension: Dimension, metric: Metric, days: string[],
                            label: (id: string) => string = (id) => id): { data: DayPoint[]; names: string[] } {
  const totals = new Map<string, number>();
  const byDay = new Map<string, DayPoint>(days.map((day) => [day, { day } as DayPoint]));
  for (const row of rows) {
    if (!row.day) continue;
    const name = label(row[dimension] ?? UNKNOWN);
    totals.set(name, (totals.get(name) ?? 0) + row[metric]);
    let point = byDay.get(row.day);
    if (!point) {
      point = { day: row.day } as DayPoint;
      byDay.set(row.day, point);
    }
    point[name] = ((point[name] as number | undefined) ?? 0) + row[metric];
  }
  const names = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([n]) => n);
  const data = [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day));
  for (const point of data) for (const name of names) point[name] ??= 0;
  return { data, names };
}

export type Totals = { requests: number; prompt_tokens: number; completion_tokens: number; total_tokens: number;
  errors: number };

export function totals(rows: UsageRow[]): Totals {
  const t: Totals = { requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, errors: 0 };
  for (const r of rows) {
    t.requests += r.requests;
    t.prompt_tokens += r.prompt_tokens;
    t.completion_tokens += r.completion_tokens;
    t.total_tokens += r.total_tokens;
    t.errors += r.errors;
  }
  return t;
}
