import { describe, expect, it } from "vitest";
import { load, sample, tokensPerSecond, type ReplicaState } from "../src/lib/load";

const replica = (generated: number, running = 0, waiting = 0): ReplicaState => ({
  index: 0, state: "ready", pid: 1, restarts: 0, last_error: null, running, waiting, kv_cells_used: 10,
  kv_cells_total: 100, generated_tokens: generated });

describe("deployment load", () => {
  it("computes tokens per second from the growth of every replica's counter", () => {
    const before = sample([replica(100), replica(50)], 1000);
    const after = sample([replica(160), replica(90)], 3000);
    expect(tokensPerSecond(undefined, before)).toBeNull();
    expect(tokensPerSecond(before, after)).toBe(50);
  });

  it("reads a restarted replica (its counter went back) as zero, not negative", () => {
    expect(tokensPerSecond(sample([replica(500)], 0), sample([replica(3)], 1000))).toBe(0);
  });

  it("adds up running and waiting requests and KV cells", () => {
    expect(load([replica(0, 2, 1), replica(0, 3, 4)])).toEqual({ running: 5, waiting: 5, kvUsed: 20, kvTotal: 200 });
  });
});
