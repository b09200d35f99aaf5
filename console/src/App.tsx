// The console's frame: log in, then a navigation bar and one page per resource.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Navigate, NavLink, Route, Routes } from "react-router";
import { Api, type Identity, identify } from "./api";
import Login from "./pages/Login";
import Playground from "./pages/Playground";
import Models from "./pages/Models";
import Data from "./pages/Data";
import FineTuning from "./pages/FineTuning";
import JobPage from "./pages/Job";
import Deployments from "./pages/Deployments";
import Keys from "./pages/Keys";
import Usage from "./pages/Usage";
import Status from "./pages/Status";
import { forgetKey, SessionContext, storedKey, storeKey } from "./session";
import { ErrorNote, Loading } from "./components/ui";
import type { ApiError } from "./api";

const PAGES = [
  ["/playground", "Playground"],
  ["/models", "Models"],
  ["/data", "Data"],
  ["/fine-tuning", "Fine-tuning"],
  ["/deployments", "Deployments"],
  ["/keys", "Keys"],
  ["/usage", "Usage"],
  ["/availability", "Status & inbox"],
] as const;

export default function App() {
  const [key, setKey] = useState<string | null>(storedKey);
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [refused, setRefused] = useState<ApiError | null>(null);

  const logout = useCallback(() => {
    forgetKey();
    setKey(null);
    setIdentity(null);
  }, []);

  const api = useMemo(() => (key ? new Api(key) : null), [key]);

  useEffect(() => {
    if (!api || !key || identity) return;
    identify(api, key).then(setIdentity).catch((exc: ApiError) => {
      // A key the server refuses (revoked, mistyped) sends the person back to the login form, saying why.
      forgetKey();
      setKey(null);
      setRefused(exc);
    });
  }, [api, key, identity]);

  if (!api || !key) {
    return <Login refused={refused} onLogin={(k, who) => { storeKey(k); setRefused(null); setIdentity(who); setKey(k); }} />;
  }
  if (!identity) return <main className="centered"><Loading what="your workspace" /><ErrorNote error={refused} /></main>;

  return (
    <SessionContext.Provider value={{ api, identity, logout }}>
      <div className="shell">
        <nav className="sidebar" aria-label="Console">
          <div className="brand">OpenMaaS</div>
          <ul>
            {PAGES.map(([path, label]) => (
              <li key={path}><NavLink to={path}>{label}</NavLink></li>
            ))}
          </ul>
          <div className="who">
            <div title={identity.workspaceId ?? ""}>
              {identity.isAdmin ? "Admin" : "Workspace"}: <strong>{identity.workspaceName ?? identity.workspaceId ?? "?"}</strong>
            </div>
            {identity.key && <div className="muted">key {identity.key.prefix}… ({identity.key.name || "unnamed"})</div>}
            <button type="button" className="secondary" onClick={logout}>Log out</button>
          </div>
        </nav>
        <main className="content">
          <Routes>
            <Route path="/" element={<Navigate to="/playground" replace />} />
            <Route path="/login" element={<Navigate to="/playground" replace />} />
            <Route path="/playground" element={<Playground />} />
            <Route path="/models" element={<Models />} />
            <Route path="/data" element={<Data />} />
            <Route path="/fine-tuning" element={<FineTuning />} />
            <Route path="/fine-tuning/:jobId" element={<JobPage />} />
            <Route path="/deployments" element={<Deployments />} />
            <Route path="/keys" element={<Keys />} />
            <Route path="/usage" element={<Usage />} />
            <Route path="/availability" element={<Status />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </main>
      </div>
    </SessionContext.Provider>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>This address is not a page of the console. Choose a page on the left.</p>
    </section>
  );
}
