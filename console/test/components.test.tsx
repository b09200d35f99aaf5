import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import App from "../src/App";
import { ApiError, identify, Api } from "../src/api";
import { ErrorNote, Field } from "../src/components/ui";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  sessionStorage.clear();
});

const KEY = "om-abcdefgSECRETSECRETSECRETSECRETSECRET";
const keys = {
  object: "list",
  data: [
    { id: "key_other", name: "ci", prefix: "om-zzzzzzz", workspace_id: "ws_b", is_admin: false, created_at: 1, last_used_at: null, revoked_at: null },
    { id: "key_admin", name: "admin", prefix: "om-abcdefg", workspace_id: "ws_default", is_admin: true, created_at: 1, last_used_at: 2, revoked_at: null },
  ],
};

/** A stand-in for the server: answers by path, records what was asked. */
function stubServer(routes: Record<string, [number, unknown]>) {
  const calls: { url: string; auth: string | null }[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => {
    calls.push({ url, auth: new Headers(init?.headers).get("Authorization") });
    const path = url.split("?")[0];
    const [status, body] = routes[path] ?? [404, { error: { message: `Unknown route: GET ${path}`, type: "invalid_request_error" } }];
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }));
  return calls;
}

describe("ApiError", () => {
  it("reads an OpenAI error object with line details", () => {
    const e = ApiError.fromBody(400, { error: { message: "The file has 2 invalid lines.", type: "invalid_request_error",
      param: "file", code: "invalid_file", details: [{ line: 3, field: "messages", reason: "missing" }] } }, "fallback");
    expect(e).toMatchObject({ status: 400, param: "file", code: "invalid_file", message: "The file has 2 invalid lines." });
    expect(e.details).toEqual([{ line: 3, field: "messages", reason: "missing" }]);
    expect(ApiError.fromBody(502, "<html>", "The server answered 502.").message).toBe("The server answered 502.");
  });
});

describe("ErrorNote and Field", () => {
  it("shows the message in words and each bad line", () => {
    render(<ErrorNote error={new ApiError("The file has 2 invalid lines.", 400, null, "file", "invalid_file",
      [{ line: 2, field: "messages", reason: "is not a list" }, { line: 5, reason: "is not JSON" }])} />);
    expect(screen.getByRole("alert").textContent).toContain("The file has 2 invalid lines.");
    const items = screen.getAllByRole("listitem").map((li) => li.textContent);
    expect(items).toEqual(["Line 2messagesis not a list", "Line 5is not JSON"]);
  });

  it("puts an error under the field its param names, and only there", () => {
    const error = new ApiError("replicas must be between 1 and 8.", 400, null, "replicas");
    render(<><Field label="Replicas" param="replicas" error={error}><input /></Field>
      <Field label="Model" param="model" error={error}><input /></Field></>);
    expect(screen.getAllByRole("alert")).toHaveLength(1);
    expect(screen.getByText("Replicas").closest("label")!.textContent).toContain("between 1 and 8");
  });
});

describe("identify", () => {
  it("finds the key's own entry by its prefix", async () => {
    stubServer({ "/api/keys": [200, keys], "/api/workspaces": [200, { data: [{ id: "ws_default", name: "default" }] }] });
    const who = await identify(new Api(KEY), KEY);
    expect(who).toMatchObject({ isAdmin: true, workspaceId: "ws_default", workspaceName: "default" });
    expect(who.key?.id).toBe("key_admin");
  });
});

describe("login", () => {
  it("checks the key with the API, keeps it in sessionStorage only, and opens the console", async () => {
    const calls = stubServer({ "/api/keys": [200, keys], "/api/workspaces": [200, { data: [{ id: "ws_default", name: "default" }] }],
      "/api/deployments": [200, { object: "list", data: [] }] });
    render(<MemoryRouter initialEntries={["/playground"]}><App /></MemoryRouter>);
    fireEvent.change(screen.getByLabelText("API key"), { target: { value: KEY } });
    fireEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByText("No model is deployed yet.")).toBeTruthy();
    expect(screen.getByText("default").tagName).toBe("STRONG");
    expect(sessionStorage.getItem("openmaas.apiKey")).toBe(KEY);
    expect(localStorage.length).toBe(0);
    expect(calls.every((c) => c.auth === `Bearer ${KEY}` && !c.url.includes(KEY))).toBe(true);
  });

  it("says why a refused key was refused, next to the key field", async () => {
    stubServer({ "/api/keys": [401, { error: { message: "Incorrect API key provided.", type: "authentication_error",
      code: "invalid_api_key" } }] });
    render(<MemoryRouter><App /></MemoryRouter>);
    fireEvent.change(screen.getByLabelText("API key"), { target: { value: "om-wrong" } });
    fireEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect((await screen.findByRole("alert")).textContent).toContain("Incorrect API key provided.");
    expect(sessionStorage.getItem("openmaas.apiKey")).toBeNull();
  });
});
