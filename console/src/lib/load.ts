// A deployment's live load: running and waiting requests from its replicas, and tokens/s from the
// growth of their generated-token counters between two polls.

export type ReplicaState = {
  index: number; state: string; pid: number | null; restarts: number; last_error: string | null;
  running: number; waiting: number; kv_cells_used: number; kv_cells_total: number; generated_tokens: number;
};

export type LoadSample = { at: number; generated: number };

export function sample(replicas: ReplicaState[], at: number): LoadSample {
  return { at, generated: replicas.reduce((sum, r) => sum + (r.generated_tokens || 0), 0) };
}

/** Tokens per second between two samples; null before there are two, 0 when a counter restarted. */
export function tokensPerSecond(previous: LoadSample | undefined, current: LoadSample): number | null {
  if (!previous) return null;
  const seconds = (current.at - previous.at) / 1000;
  if (seconds <= 0) return null;
  const delta = current.generated - previous.generated;
  return delta < 0 ? 0 : delta / seconds;
}

export function load(replicas: ReplicaState[]): { running: number; waiting: number; kvUsed: number; kvTotal: number } {
  return replicas.reduce((acc, r) => ({
    running: acc.running + (r.running || 0),
    waiting: acc.waiting + (r.waiting || 0),
    kvUsed: acc.kvUsed + (r.kv_cells_used || 0),
    kvTotal: acc.kvTotal + (r.kv_cells_total || 0),
  }), { running: 0, waiting: 0, kvUsed: 0, kvTotal: 0 });
}
