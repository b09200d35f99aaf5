// Log in with an API key: checked against the API, then kept in this tab's session storage only.
import { useState, type FormEvent } from "react";
import { Api, type ApiError, type Identity, identify } from "../api";
import { ErrorNote } from "../components/ui";
import { useAction } from "../lib/useLoad";

export default function Login({ onLogin, refused }: { onLogin: (key: string, who: Identity) => void; refused: ApiError | null }) {
  const [key, setKey] = useState("");
  const login = useAction(async (trimmed: string) => onLogin(trimmed, await identify(new Api(trimmed), trimmed)));

  function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = key.trim();
    if (trimmed) void login.run(trimmed);
  }

  return (
    <main className="centered">
      <form className="card login" onSubmit={submit} method="post" action="#">
        <h1>OpenMaaS console</h1>
        <p>Log in with an API key. An admin key shows the whole platform; a workspace key shows its workspace.
          The key stays in this browser tab's session and is never put in an address.</p>
        <label className="field">
          <span className="field-label">API key</span>
          <input name="api-key" type="password" autoComplete="off" autoFocus value={key}
            onChange={(e) => setKey(e.target.value)} placeholder="om-…" aria-describedby="login-error" />
        </label>
        <ErrorNote error={login.error ?? refused} id="login-error" />
        <button type="submit" disabled={login.busy || !key.trim()}>{login.busy ? "Checking…" : "Log in"}</button>
        <p className="hint">The server printed the admin key on its first start and saved it to
          <code>~/.openmaas/admin.key</code>; <code>openmaas keys create</code> makes more.</p>
      </form>
    </main>
  );
}
