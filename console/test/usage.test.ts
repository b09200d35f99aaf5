import { describe, expect, it } from "vitest";
import { dayRange, lastDays, seriesByDay, totals, type UsageRow } from "../src/lib/usage";

const row = (day: string, model: string, key_id: string, total: number, requests = 1): UsageRow => ({
  day, model, key_id, requests, prompt_tokens: total - 1, completion_tokens: 1, total_tokens: total, errors: 0,
  avg_latency_ms: 10, avg_ttft_ms: 5 });

describe("dayRange and lastDays", () => {
  it("lists every day inclusive, across a month end", () => {
    expect(dayRange("2025-01-30", "2025-02-02")).toEqual(["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"]);
    expect(dayRange("2025-02-02", "2025-02-01")).toEqual([]);
  });

  it("ends today and spans the number of days asked", () => {
    expect(lastDays(7, new Date("2025-03-03T15:00:00Z"))).toEqual({ start: "2025-02-25", end: "2025-03-03" });
  });
});

describe("seriesByDay", () => {
  const rows = [row("2025-01-01", "a", "k1", 10), row("2025-01-01", "b", "k1", 30), row("2025-01-03", "a", "k2", 5),
    row("2025-01-03", "a", "k1", 1)];

  it("sums per day and series, fills empty days with zeros and orders series by total", () => {
    const { data, names } = seriesByDay(rows, "model", "total_tokens", dayRange("2025-01-01", "2025-01-03"));
    expect(names).toEqual(["b", "a"]);
    expect(data).toEqual([
      { day: "2025-01-01", a: 10, b: 30 }, { day: "2025-01-02", a: 0, b: 0 }, { day: "2025-01-03", a: 6, b: 0 }]);
  });

  it("labels keys by name and counts requests", () => {
    const { data, names } = seriesByDay(rows, "key_id", "requests", ["2025-01-01", "2025-01-03"],
      (id) => (id === "k1" ? "ci" : id));
    expect(names).toEqual(["ci", "k2"]);
    expect(data[1]).toEqual({ day: "2025-01-03", ci: 1, k2: 1 });
  });

  it("totals every row", () => {
    expect(totals(rows)).toEqual({ requests: 4, prompt_tokens: 42, completion_tokens: 4, total_tokens: 46, errors: 0 });
  });
});
