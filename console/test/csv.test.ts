import { describe, expect, it } from "vitest";
import { csvField, toCsv } from "../src/lib/csv";

describe("toCsv", () => {
  it("writes a header and quotes fields with commas, quotes and newlines", () => {
    const rows = [{ model: "a,b", n: 3, note: 'say "x"' }, { model: "line\nbreak", n: 0, note: null }];
    const csv = toCsv([{ header: "model", value: (r) => r.model }, { header: "n", value: (r) => r.n },
      { header: "note", value: (r) => r.note }], rows);
    expect(csv).toBe('model,n,note\r\n"a,b",3,"say ""x"""\r\n"line\nbreak",0,\r\n');
  });

  it("keeps negative numbers as numbers but defuses text that a spreadsheet would run", () => {
    expect(csvField(-1)).toBe("-1");
    expect(csvField("=SUM(A1)")).toBe("'=SUM(A1)");
    expect(csvField("@home")).toBe("'@home");
    expect(csvField(undefined)).toBe("");
  });
});
