// Small building blocks every page uses.
import { useState, type ReactNode } from "react";
import { ApiError } from "../api";

/** An API error in words, next to what caused it; a file's line errors as a list. */
export function ErrorNote({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError(String((error as Error).message ?? error), 0);
  return (
    <div className="error" role="alert" id={id}>
      <p className="error-message">{e.message}</p>
      {e.details.length > 0 && (
        <ul className="line-errors" aria-label="Problems by line">
          {e.details.map((d, i) => (
            <li key={i}>
              {d.line !== null && d.line !== undefined ? <strong>Line {d.line}</strong> : <strong>File</strong>}
              {d.field ? <code>{d.field}</code> : null}
              <span>{d.reason}</span>
            </li>
          ))}
        </ul>
      )}
      {(e.status > 0 || e.code) && (
        <p className="error-meta">{[e.status > 0 ? `HTTP ${e.status}` : null, e.code, e.param ? `param: ${e.param}` : null]
          .filter(Boolean).join(" · ")}</p>
      )}
    </div>
  );
}

/** A labelled form field; an API error naming this field's parameter shows under it. */
export function Field({ label, param, error, hint, children }: {
  label: string; param?: string; error?: ApiError | null; hint?: ReactNode; children: ReactNode }) {
  const mine = error && param && error.param === param;
  return (
    <label className={"field" + (mine ? " field-invalid" : "")}>
      <span className="field-label">{label}</span>
      {children}
      {hint && <span className="hint">{hint}</span>}
      {mine && <ErrorNote error={error} />}
    </label>
  );
}

/** The error of a form that no single field owns. */
export function FormError({ error, fields }: { error: ApiError | null; fields: string[] }) {
  if (!error || (error.param && fields.includes(error.param))) return null;
  return <ErrorNote error={error} />;
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children && <div className="empty-next">{children}</div>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="loading" aria-busy="true">Loading {what}…</p>;
}

export function ProgressBar({ value, label }: { value: number | null; label: string }) {
  return (
    <div className="progress">
      <progress max={1} value={value ?? undefined} aria-label={label} />
      <span>{label}</span>
    </div>
  );
}

const TONES: Record<string, string> = {
  operational: "good", ready: "good", succeeded: "good", active: "good", processed: "good", resolved: "good",
  degraded_performance: "warn", partial_outage: "warn", starting: "warn", loading: "warn", queued: "warn",
  validating_files: "warn", running: "info", under_maintenance: "info", monitoring: "info", identified: "warn",
  investigating: "bad", major_outage: "bad", failed: "bad", cancelled: "muted", stopped: "muted", error: "bad",
};

export function Badge({ state, label }: { state: string; label?: string }) {
  return <span className={`badge badge-${TONES[state] ?? "muted"}`}>{label ?? state.replace(/_/g, " ")}</span>;
}

/** Copies text to the clipboard (with a fallback for pages the Clipboard API does not serve). */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  }
  return <button type="button" className="secondary" onClick={copy}>{copied ? "Copied" : label}</button>;
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children && <div className="page-actions">{children}</div>}
    </header>
  );
}
