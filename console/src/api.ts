// The console's only way to the platform: the public HTTP API, with the key from the session.
import type { ChatRequest } from "./lib/chat";
import type { JobEvent } from "./lib/jobs";
import type { ReplicaState } from "./lib/load";
import type { UsageRow } from "./lib/usage";

export type LineError = { line: number | null; field?: string | null; reason: string };

/** An OpenAI error object from the API (or a network failure, status 0), in words. */
export class ApiError extends Error {
  constructor(
    message: string,
    public status: number,
    public type: string | null = null,
    public param: string | null = null,
    public code: string | null = null,
    public details: LineError[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }

  static fromBody(status: number, body: unknown, fallback: string): ApiError {
    const e = (body as { error?: Record<string, unknown> } | null)?.error;
    if (e && typeof e.message === "string") {
      return new ApiError(e.message, status, (e.type as string) ?? null, (e.param as string) ?? null,
        (e.code as string) ?? null, Array.isArray(e.details) ? (e.details as LineError[]) : []);
    }
    return new ApiError(fallback, status);
  }
}

export type List<T> = { object: "list"; data: T[]; has_more?: boolean };

export type Key = { id: string; object: "api_key"; name: string; prefix: string; workspace_id: string; is_admin: boolean;
  created_at: number; last_used_at: number | null; revoked_at: number | null; key?: string };
export type Workspace = { id: string; name: string; created_at: number };
export type ModelCard = { id: string; object: "model"; created: number; owned_by: string; family: string | null;
  architecture: string | null; parameters: number | null; quantization: string | null; context_length: number | null;
  chat_template: string | null; license: string | null; path: string | null; sha256: string | null;
  size_bytes: number | null; source: string; base_model: string | null; extra: Record<string, unknown> | null };
export type Deployment = { id: string; object: "deployment"; model: string; workspace_id: string | null; engine: string;
  n_ctx: number; slots: number; max_waiting: number; max_queue_wait_s: number; status: string; state: string;
  replicas: number; replicas_ready: number; replica_states: ReplicaState[]; created_at: number };
export type FileStats = { format: string; examples: number; tokens: number | null; longest_example_tokens: number | null;
  over_context: number | null; tokenizer_model: string | null; context_length: number | null };
export type FileObject = { id: string; object: "file"; bytes: number; created_at: number; filename: string;
  purpose: string; status: string; statistics?: FileStats | null };
export type Preview = { object: "list"; format: string;
  data: { line: number; messages: { role: string; content: string }[] }[] };
export type Hyper = Record<string, number | string>;
export type Job = { id: string; object: "fine_tuning.job"; model: string; status: string; fine_tuned_model: string | null;
  training_file: string; validation_file: string | null; hyperparameters: Hyper; created_at: number;
  finished_at: number | null; trained_tokens: number | null;
  error: { message: string; code?: string | null; param?: string | null } | null; seed: number | null;
  suffix: string | null; estimated_finish: number | null; progress?: { step: number; total_steps: number } | null };
export type Checkpoint = { id: string; created_at: number; fine_tuned_model_checkpoint: string; step_number: number;
  metrics: Record<string, number | null>; fine_tuning_job_id: string };
export type EvalSide = { loss: number | null; perplexity: number | null };
export type Evaluation = {
  validation: { examples?: number; base: EvalSide; tuned: EvalSide } | null;
  samples: { prompt: string | { role: string; content: string }[]; reference: string; base: string; tuned: string }[] };
export type Component = { id: string; name: string; kind: string; workspace_id: string | null; state: string;
  state_label: string; since: number | null; detail: string | null; latency_ms: number | null;
  checked_at: number | null; uptime: Record<string, number | null>; days: [string, number | null][] };
export type Incident = { id: string; title: string; status: string; impact: string; automatic: boolean;
  workspace_id: string | null; created_at: number; updated_at: number; resolved_at: number | null;
  components: { id: string; name: string; state: string }[];
  updates: { status: string; impact: string; message: string; created_at: number }[] };
export type Maintenance = { id: string; title: string; starts_at: number; ends_at: number; status?: string;
  components?: { id: string; name: string }[]; description?: string };
export type StatusSnapshot = { status: { indicator: string; description: string }; components: Component[];
  incidents: { open: Incident[]; past: Incident[] }; maintenance: Maintenance[] };
export type Subscription = { id: string; channel: "webhook" | "email"; url: string | null; email: string | null;
  workspace_id: string; created_at: number; secret?: string };
export type InboxMessage = { id: string; incident_id: string | null; event: string; title: string; body: string;
  created_at: number; read_at: number | null };
export type Inbox = List<InboxMessage> & { unread: number };

type Query = Record<string, string | number | boolean | null | undefined>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function failure(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON: fall back to the status line */
  }
  return ApiError.fromBody(response.status, body, `The server answered ${response.status} ${response.statusText}.`.trim());
}

export class Api {
  constructor(private key: string, private base = "") {}

  private headers(json: boolean): HeadersInit {
    return { Authorization: `Bearer ${this.key}`, ...(json ? { "Content-Type": "application/json" } : {}) };
  }

  async raw(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method, signal, headers: this.headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (exc) {
      if ((exc as Error).name === "AbortError") throw exc;
      throw new ApiError(`Could not reach the OpenMaaS server (${(exc as Error).message}).`, 0);
    }
    if (!response.ok) throw await failure(response);
    return response;
  }

  async call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const response = await this.raw(method, withQuery(path, query), body);
    return (await response.json()) as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>("GET", path, undefined, query);
  }

  // Keys and workspaces
  keys = () => this.get<List<Key>>("/api/keys");
  createKey = (body: { name: string; workspace_id?: string; admin?: boolean }) => this.call<Key>("POST", "/api/keys", body);
  revokeKey = (id: string) => this.call<Key>("DELETE", `/api/keys/${encodeURIComponent(id)}`);
  workspaces = () => this.get<List<Workspace>>("/api/workspaces");

  // Models and deployments
  models = () => this.get<List<ModelCard>>("/api/models");
  importModel = (body: { path: string; name: string; workspace_id?: string }) => this.call<ModelCard>("POST", "/api/models", body);
  deployments = () => this.get<List<Deployment>>("/api/deployments");
  deployment = (id: string) => this.get<Deployment>(`/api/deployments/${encodeURIComponent(id)}`);
  deploy = (body: { model: string; replicas?: number; n_ctx?: number; slots?: number; workspace_id?: string }) =>
    this.call<Deployment>("POST", "/api/deployments", body);
  scaleDeployment = (id: string, replicas: number) =>
    this.call<Deployment>("PATCH", `/api/deployments/${encodeURIComponent(id)}`, { replicas });
  stopDeployment = (id: string) => this.call<Deployment>("DELETE", `/api/deployments/${encodeURIComponent(id)}`);

  // Chat: the raw streaming response, read by lib/sse
  chatStream = (body: ChatRequest, signal: AbortSignal) => this.raw("POST", "/v1/chat/completions", body, signal);

  // Usage
  usage = (query: { start?: string; end?: string; group_by: string }) =>
    this.get<{ object: "list"; group_by: string[]; data: UsageRow[] }>("/api/usage", query);

  // Files
  files = () => this.get<List<FileObject>>("/v1/files");
  deleteFile = (id: string) => this.call<{ id: string; deleted: boolean }>("DELETE", `/v1/files/${encodeURIComponent(id)}`);
  preview = (id: string, limit = 5) => this.get<Preview>(`/api/files/${encodeURIComponent(id)}/preview`, { limit });

  /** Multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can). */
  uploadFile(file: File, model: string | null, onProgress: (fraction: number) => void): Promise<FileObject> {
    const form = new FormData();
    form.append("purpose", "fine-tune");
    if (model) form.append("model", model);
    form.append("file", file);
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", this.base + "/v1/files");
      xhr.setRequestHeader("Authorization", `Bearer ${this.key}`);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onerror = () => reject(new ApiError("Could not reach the OpenMaaS server while uploading.", 0));
      xhr.onload = () => {
        let body: unknown = null;
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body as FileObject);
        else reject(ApiError.fromBody(xhr.status, body, `The upload failed with status ${xhr.status}.`));
      };
      xhr.send(form);
    });
  }

  // Fine-tuning
  jobs = () => this.get<List<Job>>("/v1/fine_tuning/jobs", { limit: 100 });
  job = (id: string) => this.get<Job>(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}`);
  createJob = (body: Record<string, unknown>) => this.call<Job>("POST", "/v1/fine_tuning/jobs", body);
  cancelJob = (id: string) => this.call<Job>("POST", `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/cancel`);
  events = (id: string, query: { limit?: number; after?: string }) =>
    this.get<List<JobEvent>>(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events`, query);
  checkpoints = (id: string) => this.get<List<Checkpoint>>(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}/checkpoints`);
  evaluation = (id: string) => this.get<Evaluation>(`/api/fine_tuning/jobs/${encodeURIComponent(id)}/evaluation`);

  // Status, incidents, notifications
  status = () => this.get<StatusSnapshot>("/api/status");
  subscriptions = () => this.get<List<Subscription>>("/api/notifications/subscriptions");
  subscribe = (body: { channel: "webhook" | "email"; url?: string; email?: string }) =>
    this.call<Subscription>("POST", "/api/notifications/subscriptions", body);
  unsubscribe = (id: string) => this.call<Subscription>("DELETE", `/api/notifications/subscriptions/${encodeURIComponent(id)}`);
  inbox = () => this.get<Inbox>("/api/inbox", { limit: 50 });
  markRead = (id: string) => this.call<InboxMessage>("POST", `/api/inbox/${encodeURIComponent(id)}/read`);
  markAllRead = () => this.call<{ marked_read: number }>("POST", "/api/inbox/read");
}

/** Who a key is: the API lists the keys it may see; the key's own entry is the one whose prefix it starts with. */
export type Identity = { key: Key | null; isAdmin: boolean; workspaceId: string | null; workspaceName: string | null };

export async function identify(api: Api, plaintext: string): Promise<Identity> {
  const keys = await api.keys();
  const own = keys.data.filter((k) => plaintext.startsWith(k.prefix)).sort((a, b) => b.prefix.length - a.prefix.length)[0];
  let workspaceName: string | null = null;
  if (own) {
    try {
      workspaceName = (await api.workspaces()).data.find((w) => w.id === own.workspace_id)?.name ?? null;
    } catch {
      /* the name is a nicety */
    }
  }
  return { key: own ?? null, isAdmin: own?.is_admin ?? false, workspaceId: own?.workspace_id ?? null, workspaceName };
}
