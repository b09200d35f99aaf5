import { describe, expect, it } from "vitest";
import { hyperparameters, isActive, latestMetrics, lossCurve, mergeEvents, type JobEvent } from "../src/lib/jobs";

let n = 0;
function metrics(step: number, train?: number, valid?: number, at = step): JobEvent {
  return { object: "fine_tuning.job.event", id: `ev-${++n}`, created_at: 1000 + at, level: "info", message: `step ${step}`,
    type: "metrics", data: { step, total_steps: 10, train_loss: train, valid_loss: valid, tokens_per_second: 100 + step,
      eta_seconds: 10 - step } };
}
function message(text: string, at: number): JobEvent {
  return { object: "fine_tuning.job.event", id: `ev-${++n}`, created_at: 1000 + at, level: "info", message: text, type: "message" };
}

describe("mergeEvents", () => {
  it("adds new events once, newest first, keeping the API's order within a second", () => {
    const first = [metrics(2, 1.5, undefined, 2), metrics(1, 2.0, undefined, 2), message("started", 0)];
    const poll = [metrics(3, 1.2, undefined, 3), first[0], first[1]];
    const merged = mergeEvents(first, poll);
    expect(merged.map((e) => e.message)).toEqual(["step 3", "step 2", "step 1", "started"]);
    expect(mergeEvents(merged, poll)).toHaveLength(4);
  });
});

describe("lossCurve", () => {
  it("gives train and validation loss by step, oldest first, ignoring messages", () => {
    const events = [metrics(4, 0.9, 1.1), metrics(3, 1.0), message("checkpoint saved", 3), metrics(2, 1.4, 1.6), metrics(1, 2.0)];
    expect(lossCurve(events)).toEqual([
      { step: 1, train_loss: 2.0 }, { step: 2, train_loss: 1.4, valid_loss: 1.6 }, { step: 3, train_loss: 1.0 },
      { step: 4, train_loss: 0.9, valid_loss: 1.1 }]);
  });

  it("merges a validation report into its step's train loss and skips non-numbers", () => {
    const valid = { ...metrics(5, undefined, 0.8, 6) };
    const events = [valid, metrics(5, 0.7, undefined, 5), metrics(6, NaN)];
    expect(lossCurve(events)).toEqual([{ step: 5, train_loss: 0.7, valid_loss: 0.8 }]);
  });

  it("reads the latest throughput and ETA", () => {
    expect(latestMetrics([message("x", 9), metrics(7, 1)])).toMatchObject({ step: 7, tokens_per_second: 107, eta_seconds: 3 });
    expect(latestMetrics([message("x", 1)])).toBeNull();
  });
});

describe("hyperparameters", () => {
  it("sends auto or a number for filled fields and leaves out empty ones", () => {
    expect(hyperparameters({ n_epochs: "3", batch_size: "auto", learning_rate_multiplier: " AUTO ", lora_rank: "" }))
      .toEqual({ n_epochs: 3, batch_size: "auto", learning_rate_multiplier: "auto" });
  });

  it("knows which statuses are still going", () => {
    expect(["validating_files", "queued", "running"].every(isActive)).toBe(true);
    expect(["succeeded", "failed", "cancelled"].some(isActive)).toBe(false);
  });
});
