// API keys: create (the key is shown once, with a copy button), list with prefix and last use, revoke.
import { useState, type FormEvent } from "react";
import type { Key } from "../api";
import { ago, when } from "../lib/format";
import { useAction, useLoad } from "../lib/useLoad";
import { useSession } from "../session";
import { Badge, CopyButton, Empty, ErrorNote, Field, FormError, Loading, PageHeader } from "../components/ui";

export default function Keys() {
  const { api, identity } = useSession();
  const keys = useLoad(() => api.keys(), [api], 30000);
  const workspaces = useLoad(() => api.workspaces(), [api]);
  const names = new Map((workspaces.data?.data ?? []).map((w) => [w.id, w.name]));
  const [created, setCreated] = useState<Key | null>(null);
  const list = keys.data?.data ?? [];
  return (
    <section>
      <PageHeader title="API keys" />
      <NewKey onCreated={(k) => { setCreated(k); void keys.reload(); }} />
      {created?.key && (
        <div className="card once" role="status" data-testid="new-key">
          <p><strong>Your new key{created.name ? ` “${created.name}”` : ""}.</strong> Copy it now: it is shown this once
            and cannot be shown again.</p>
          <div className="key-once"><code data-testid="new-key-value">{created.key}</code><CopyButton text={created.key} /></div>
          <button type="button" className="secondary" onClick={() => { setCreated(null); void keys.reload(); }}>I have copied it</button>
        </div>
      )}
      <ErrorNote error={keys.error} />
      {keys.loading && !keys.data && <Loading what="keys" />}
      {keys.data && list.length === 0 && <Empty title="No keys yet."><p>Create one with the form above.</p></Empty>}
      {list.length > 0 && (
        <table className="table" aria-label="Keys">
          <thead><tr><th>Name</th><th>Prefix</th><th>Workspace</th><th>Created</th><th>Last used</th><th>State</th><th /></tr></thead>
          <tbody>
            {list.map((k) => (
              <tr key={k.id} data-key-id={k.id}>
                <td>{k.name || <span className="muted">unnamed</span>} {k.is_admin && <Badge state="running" label="admin" />}
                  {identity.key?.id === k.id && <Badge state="ready" label="this session" />}</td>
                <td className="mono">{k.prefix}…</td>
                <td>{names.get(k.workspace_id) ?? k.workspace_id}</td>
                <td>{when(k.created_at)}</td>
                <td title={when(k.last_used_at)}>{ago(k.last_used_at)}</td>
                <td>{k.revoked_at ? <Badge state="cancelled" label={`revoked ${when(k.revoked_at)}`} /> : <Badge state="active" />}</td>
                <td>{!k.revoked_at && <RevokeButton k={k} isSelf={identity.key?.id === k.id} onRevoked={() => void keys.reload()} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RevokeButton({ k, isSelf, onRevoked }: { k: Key; isSelf: boolean; onRevoked: () => void }) {
  const { api, logout } = useSession();
  const revoke = useAction(async () => {
    await api.revokeKey(k.id);
    if (isSelf) logout(); else onRevoked();
  });
  function confirmRevoke() {
    const warning = isSelf ? " This is the key this console is logged in with: you will be logged out." : "";
    if (window.confirm(`Revoke key ${k.prefix}… (${k.name || "unnamed"})? Clients using it stop working at once.${warning}`)) {
      void revoke.run();
    }
  }
  return <><button type="button" className="danger small" onClick={confirmRevoke} disabled={revoke.busy}>Revoke</button>
    <ErrorNote error={revoke.error} /></>;
}

function NewKey({ onCreated }: { onCreated: (k: Key) => void }) {
  const { api, identity } = useSession();
  const workspaces = useLoad(() => api.workspaces(), [api]);
  const [form, setForm] = useState({ name: "", workspace_id: "", admin: false });
  const { run, busy, error } = useAction(async () => {
    onCreated(await api.createKey({ name: form.name, ...(form.workspace_id ? { workspace_id: form.workspace_id } : {}),
      ...(form.admin ? { admin: true } : {}) }));
    setForm({ ...form, name: "" });
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    void run();
  }
  return (
    <form className="card form-row" onSubmit={submit} aria-label="New key">
      <Field label="Name" param="name" error={error} hint="Who or what will use it.">
        <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} maxLength={200} />
      </Field>
      {identity.isAdmin && (
        <>
          <Field label="Workspace" param="workspace_id" error={error}>
            <select value={form.workspace_id} onChange={(e) => setForm({ ...form, workspace_id: e.target.value })}>
              <option value="">{identity.workspaceName ?? "this workspace"}</option>
              {workspaces.data?.data.filter((w) => w.id !== identity.workspaceId)
                .map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
            </select>
          </Field>
          <label className="inline"><input type="checkbox" checked={form.admin}
            onChange={(e) => setForm({ ...form, admin: e.target.checked })} /> Admin key</label>
        </>
      )}
      <button type="submit" disabled={busy}>{busy ? "Creating…" : "Create key"}</button>
      <FormError error={error} fields={["name", "workspace_id"]} />
    </form>
  );
}
