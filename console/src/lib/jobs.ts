// Fine-tuning job events (newest first from the API) merged across polls, and the loss curve they carry.

export type JobEventData = {
  step?: number; total_steps?: number; train_loss?: number | null; valid_loss?: number | null;
  tokens_per_second?: number | null; eta_seconds?: number | null;
};

export type JobEvent = {
  object: "fine_tuning.job.event";
  id: string;
  created_at: number;
  level: string;
  message: string;
  type: "message" | "metrics";
  data?: JobEventData | null;
};

/** Known and newly fetched events, without duplicates, newest first (the order the API uses). */
export function mergeEvents(known: JobEvent[], incoming: JobEvent[]): JobEvent[] {
  const byId = new Map<string, JobEvent>();
  for (const e of [...known, ...incoming]) byId.set(e.id, e);
  const order = new Map<string, number>();
  [...incoming, ...known].forEach((e, i) => { if (!order.has(e.id)) order.set(e.id, i); });
  return [...byId.values()].sort((a, b) =>
    b.created_at - a.created_at || (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

export type LossPoint = { step: number; train_loss?: number; valid_loss?: number };

/** Train and validation loss by step, oldest step first; a step reported twice keeps its latest values. */
export function lossCurve(events: JobEvent[]): LossPoint[] {
  const points = new Map<number, LossPoint>();
  // Oldest first, so later reports of a step overwrite earlier ones.
  for (const e of [...events].reverse()) {
    const d = e.data;
    if (e.type !== "metrics" || !d || typeof d.step !== "number") continue;
    const point = points.get(d.step) ?? { step: d.step };
    if (typeof d.train_loss === "number" && Number.isFinite(d.train_loss)) point.train_loss = d.train_loss;
    if (typeof d.valid_loss === "number" && Number.isFinite(d.valid_loss)) point.valid_loss = d.valid_loss;
    if (point.train_loss !== undefined || point.valid_loss !== undefined) points.set(d.step, point);
  }
  return [...points.values()].sort((a, b) => a.step - b.step);
}

/** The newest metrics event's numbers (throughput, ETA), if any. */
export function latestMetrics(events: JobEvent[]): JobEventData | null {
  return events.find((e) => e.type === "metrics" && e.data)?.data ?? null;
}

export const ACTIVE_STATUSES = ["validating_files", "queued", "running"];

export function isActive(status: string): boolean {
  return ACTIVE_STATUSES.includes(status);
}

/** Hyperparameters as the API takes them: "auto" or a number for each field a person filled in. */
export function hyperparameters(form: Record<string, string>): Record<string, number | "auto"> {
  const out: Record<string, number | "auto"> = {};
  for (const [name, raw] of Object.entries(form)) {
    const text = raw.trim();
    if (text === "" ) continue;
    out[name] = text.toLowerCase() === "auto" ? "auto" : Number(text);
  }
  return out;
}
