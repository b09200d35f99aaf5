// Training data: upload by drag and drop (validated on the way in, errors by line), statistics and a preview.
import { useRef, useState, type DragEvent } from "react";
import { Link } from "react-router";
import type { ApiError, FileObject } from "../api";
import { bytes, count, when } from "../lib/format";
import { useLoad } from "../lib/useLoad";
import { useApi } from "../session";
import { Badge, Empty, ErrorNote, Field, Loading, PageHeader, ProgressBar } from "../components/ui";

const EXAMPLE = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}';

export default function Data() {
  const api = useApi();
  const files = useLoad(() => api.files(), [api]);
  const models = useLoad(() => api.models(), [api]);
  const [selected, setSelected] = useState<string | null>(null);
  const [model, setModel] = useState("");
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<{ name: string; fraction: number } | null>(null);
  const [uploadError, setUploadError] = useState<{ name: string; error: ApiError } | null>(null);
  const [uploaded, setUploaded] = useState<FileObject | null>(null);
  const input = useRef<HTMLInputElement>(null);

  async function upload(file: File) {
    setUploadError(null);
    setUploaded(null);
    setProgress({ name: file.name, fraction: 0 });
    try {
      const created = await api.uploadFile(file, model || null, (fraction) => setProgress({ name: file.name, fraction }));
      setUploaded(created);
      setSelected(created.id);
      await files.reload();
    } catch (exc) {
      setUploadError({ name: file.name, error: exc as ApiError });
    } finally {
      setProgress(null);
      if (input.current) input.current.value = "";
    }
  }

  function drop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    const file = event.dataTransfer.files[0];
    if (file) void upload(file);
  }

  const list = files.data?.data ?? [];
  const current = list.find((f) => f.id === selected) ?? null;

  return (
    <section>
      <PageHeader title="Data" />
      <div className={"card dropzone" + (dragging ? " dragging" : "")} data-testid="dropzone"
        onDragOver={(e) => { e.preventDefault(); setDragging(true); }} onDragLeave={() => setDragging(false)} onDrop={drop}>
        <p><strong>Drop a training file here</strong> (JSONL, one example per line) or
          <button type="button" className="link" onClick={() => input.current?.click()}>choose a file</button>.</p>
        <input ref={input} type="file" accept=".jsonl,.json,.txt,application/jsonl" hidden aria-label="Training file"
          onChange={(e) => { const f = e.target.files?.[0]; if (f) void upload(f); }} />
        <p className="hint">Chat format: <code>{EXAMPLE}</code></p>
        <Field label="Count tokens with" hint="The tokenizer and context length the statistics use.">
          <select value={model} onChange={(e) => setModel(e.target.value)}>
            <option value="">the default model</option>
            {models.data?.data.map((m) => <option key={m.id} value={m.id}>{m.id}</option>)}
          </select>
        </Field>
        {progress && <ProgressBar value={progress.fraction}
          label={progress.fraction < 1 ? `Uploading ${progress.name}: ${Math.round(progress.fraction * 100)}%`
            : `Validating ${progress.name}…`} />}
        {uploadError && (
          <div className="upload-error" data-testid="upload-error">
            <p><strong>{uploadError.name}</strong> was not accepted:</p>
            <ErrorNote error={uploadError.error} />
          </div>
        )}
        {uploaded && <p className="success" data-testid="upload-ok"><Badge state="processed" /> {uploaded.filename} uploaded
          as <code>{uploaded.id}</code>. <Link to={`/fine-tuning?training_file=${uploaded.id}`}>Fine-tune with it</Link>.</p>}
      </div>

      <h2>Files</h2>
      <ErrorNote error={files.error} />
      {files.loading && !files.data && <Loading what="files" />}
      {files.data && list.length === 0 && (
        <Empty title="No training files yet.">
          <p>Drop a JSONL file above; it is checked line by line as it arrives. Then start a job on the
            <Link to="/fine-tuning"> Fine-tuning</Link> page.</p>
        </Empty>
      )}
      {list.length > 0 && (
        <table className="table" aria-label="Files">
          <thead><tr><th>File</th><th>Id</th><th>Size</th><th>Examples</th><th>Tokens</th><th>Uploaded</th><th /></tr></thead>
          <tbody>
            {list.map((f) => (
              <tr key={f.id} className={f.id === selected ? "selected" : ""}>
                <td><button type="button" className="link" onClick={() => setSelected(f.id)}>{f.filename}</button></td>
                <td className="mono">{f.id}</td>
                <td>{bytes(f.bytes)}</td>
                <td>{count(f.statistics?.examples)}</td>
                <td>{count(f.statistics?.tokens)}</td>
                <td>{when(f.created_at)}</td>
                <td><DeleteFile file={f} onDeleted={() => { if (selected === f.id) setSelected(null); void files.reload(); }} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {current && <FileDetail file={current} />}
    </section>
  );
}

function DeleteFile({ file, onDeleted }: { file: FileObject; onDeleted: () => void }) {
  const api = useApi();
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <>
      <button type="button" className="danger small" onClick={async () => {
        if (!window.confirm(`Delete ${file.filename}?`)) return;
        try { await api.deleteFile(file.id); onDeleted(); } catch (exc) { setError(exc as ApiError); }
      }}>Delete</button>
      <ErrorNote error={error} />
    </>
  );
}

function FileDetail({ file }: { file: FileObject }) {
  const api = useApi();
  const preview = useLoad(() => api.preview(file.id, 5), [api, file.id]);
  const s = file.statistics;
  return (
    <div className="card file-detail" data-testid="file-detail">
      <h2>{file.filename}</h2>
      {s && (
        <dl className="facts stats" aria-label="Statistics">
          <div><dt>Format</dt><dd>{s.format}</dd></div>
          <div><dt>Examples</dt><dd>{count(s.examples)}</dd></div>
          <div><dt>Tokens</dt><dd>{count(s.tokens)}</dd></div>
          <div><dt>Longest example</dt><dd>{count(s.longest_example_tokens)} tokens</dd></div>
          <div><dt>Over the context</dt><dd>{count(s.over_context)}{s.context_length ? ` (of ${s.context_length} tokens)` : ""}</dd></div>
          <div><dt>Tokenizer</dt><dd>{s.tokenizer_model ?? "—"}</dd></div>
        </dl>
      )}
      {s?.over_context ? <p className="warning">{s.over_context} example(s) are longer than the context and will be truncated.</p> : null}
      <h3>Preview (normalized)</h3>
      <ErrorNote error={preview.error} />
      {preview.loading && !preview.data && <Loading what="the preview" />}
      <ol className="preview">
        {preview.data?.data.map((example) => (
          <li key={example.line} data-testid="preview-example">
            <span className="muted">line {example.line}</span>
            {example.messages.map((m, i) => (
              <div key={i} className={`turn turn-${m.role}`}><span className="turn-role">{m.role}</span>
                <span className="turn-text">{m.content}</span></div>
            ))}
          </li>
        ))}
      </ol>
    </div>
  );
}
