// Charts, drawn by Recharts.
import { Bar, BarChart, CartesianGrid, Cell, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { LossPoint } from "../lib/jobs";
import type { DayPoint } from "../lib/usage";

const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4b5563", "#db2777"];

/** Loss by step; the x axis spans the whole job (when its length is known) so the curve grows across it. */
export function LossChart({ points, totalSteps }: { points: LossPoint[]; totalSteps?: number | null }) {
  const hasValid = points.some((p) => p.valid_loss !== undefined);
  return (
    <div className="chart" data-testid="loss-chart" data-points={points.length}>
      <ResponsiveContainer width="100%" height={280}>
        <LineChart data={points} margin={{ top: 8, right: 24, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="step" type="number" domain={[0, totalSteps || "dataMax"]} allowDecimals={false}
            label={{ value: "step", position: "insideBottomRight", offset: -4 }} />
          <YAxis domain={["auto", "auto"]} tickFormatter={(v: number) => v.toFixed(2)} />
          <Tooltip formatter={(v) => (typeof v === "number" ? v.toFixed(4) : String(v))} />
          <Legend />
          <Line type="monotone" dataKey="train_loss" name="train loss" stroke={PALETTE[0]} dot={points.length < 40}
            isAnimationActive={false} connectNulls />
          {hasValid && <Line type="monotone" dataKey="valid_loss" name="validation loss" stroke={PALETTE[2]}
            dot isAnimationActive={false} connectNulls />}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Stacked bars per day, one colour per series (model or key). */
export function DailyBars({ data, names, label }: { data: DayPoint[]; names: string[]; label: string }) {
  return (
    <div className="chart" aria-label={label} data-testid={`chart-${label}`}>
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="day" tickFormatter={(d: string) => d.slice(5)} minTickGap={16} />
          <YAxis allowDecimals={false} />
          <Tooltip />
          <Legend />
          {names.map((name, i) => (
            <Bar key={name} dataKey={name} stackId="a" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function uptimeColour(percent: number | null): string {
  if (percent === null) return "#d1d5db";
  if (percent >= 99.9) return "#16a34a";
  if (percent >= 99) return "#84cc16";
  if (percent >= 95) return "#d97706";
  return "#dc2626";
}

/** 90 daily uptime bars, coloured by how much of the day the component was up. */
export function UptimeBars({ days, name }: { days: [string, number | null][]; name: string }) {
  const data = days.map(([day, percent]) => ({ day, percent, height: 1 }));
  return (
    <div className="uptime-bars" aria-label={`Daily uptime of ${name}`}>
      <ResponsiveContainer width="100%" height={36}>
        <BarChart data={data} margin={{ top: 0, right: 0, bottom: 0, left: 0 }} barCategoryGap={1}>
          <XAxis dataKey="day" hide />
          <YAxis hide domain={[0, 1]} />
          <Tooltip formatter={(_v, _n, item) => {
            const p = (item.payload as { percent: number | null }).percent;
            return [p === null ? "no data" : `${p.toFixed(2)}%`, "uptime"];
          }} />
          <Bar dataKey="height" isAnimationActive={false}>
            {data.map((d) => <Cell key={d.day} fill={uptimeColour(d.percent)} />)}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
