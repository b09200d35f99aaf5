// Deploying a model and watching it start: shared by the Models, Deployments and job pages.
import { useEffect, useState } from "react";
import { Link } from "react-router";
import type { ApiError, Deployment } from "../api";
import { useAction } from "../lib/useLoad";
import { useApi } from "../session";
import { Badge, ErrorNote, ProgressBar } from "./ui";

/** Polls a deployment until its replicas are ready (or it fails), showing the progress. */
export function DeploymentProgress({ deployment }: { deployment: Deployment }) {
  const api = useApi();
  const [current, setCurrent] = useState(deployment);
  const [error, setError] = useState<ApiError | null>(null);
  const done = current.replicas_ready >= current.replicas || current.status !== "active";
  useEffect(() => {
    if (done) return;
    const timer = setInterval(() => {
      api.deployment(deployment.id).then((d) => { setCurrent(d); setError(null); }).catch(setError);
    }, 1000);
    return () => clearInterval(timer);
  }, [api, deployment.id, done]);
  const failed = current.replica_states.find((r) => r.last_error)?.last_error;
  return (
    <div className="deploy-progress" data-testid="deploy-progress">
      {done && current.status === "active"
        ? <p><Badge state="ready" /> <code>{current.model}</code> is deployed ({current.replicas_ready} of {current.replicas} replicas
            ready). <Link to={`/playground?model=${encodeURIComponent(current.model)}`}>Try it in the playground</Link>.</p>
        : <ProgressBar value={current.replicas ? current.replicas_ready / current.replicas : null}
            label={`Starting ${current.model}: ${current.replicas_ready} of ${current.replicas} replicas ready (${current.state})`} />}
      {failed && <p className="error">Last replica error: {failed}</p>}
      <ErrorNote error={error} />
    </div>
  );
}

/** A one-click deploy button that then shows the deployment starting. */
export function DeployButton({ model, label = "Deploy" }: { model: string; label?: string }) {
  const api = useApi();
  const [created, setCreated] = useState<Deployment | null>(null);
  const deploy = useAction(async () => setCreated(await api.deploy({ model })));
  return (
    <div className="deploy-button">
      {!created && <button type="button" onClick={() => deploy.run()} disabled={deploy.busy}>
        {deploy.busy ? "Deploying…" : label}</button>}
      <ErrorNote error={deploy.error} />
      {created && <DeploymentProgress deployment={created} />}
    </div>
  );
}
