"""The web console in a real headless Chromium against a real running platform.

Each test is a person's task on one page; the steps run in order and share one logged-in admin
browser. Every page is photographed into test-artifacts/console/ (NN-page.png) for a person to look at.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time

import httpx
import pytest

from conftest import MODEL
from console_fixtures import TIMEOUT_MS, Console, artifacts, browser, console_server  # noqa: F401  (fixtures)

pytest.importorskip("playwright", reason="the console's end-to-end tests need playwright (the test extra)")
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=TIMEOUT_MS)

GOOD_LINES = [
    {"messages": [{"role": "system", "content": "You answer in French."},
                  {"role": "user", "content": f"Say the number {n}."},
                  {"role": "assistant", "content": f"Le nombre est {n}."}]}
    for n in range(1, 25)
]
BAD_FILE = "\n".join([
    json.dumps(GOOD_LINES[0]),
    "{this is not json",
    json.dumps({"messages": [{"role": "user", "content": "no answer here"}]}),
    json.dumps({"prompt": 3}),
]) + "\n"


@pytest.fixture(scope="module")
def admin_console(browser, console_server, artifacts):  # noqa: F811
    console = Console(browser, console_server, artifacts, console_server.admin_key, "admin")
    yield console
    console.close()


@pytest.fixture(scope="module")
def api(console_server):  # noqa: F811
    with console_server.client() as client:
        yield client


def missing(api: httpx.Client, path: str) -> bool:
    """True while the route is not in this build of the API (its error says 'Unknown route')."""
    r = api.get(path)
    return r.status_code == 404 and "Unknown route" in r.text


# --- serving -------------------------------------------------------------------------------------------------

def test_console_is_served_at_root_without_shadowing_the_api(console_server):  # noqa: F811
    url = console_server.url
    for path in ("/", "/playground", "/fine-tuning/ftjob-unknown", "/keys"):
        r = httpx.get(url + path)
        assert r.status_code == 200 and 'id="root"' in r.text, path
        assert "no-cache" in r.headers["cache-control"]
    asset = re.search(r'src="(/assets/[^"]+\.js)"', httpx.get(url + "/").text).group(1)
    r = httpx.get(url + asset)
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]

    # The API's own paths keep their answers: errors stay OpenAI error objects, never the app's HTML.
    for method, path in (("GET", "/v1/nothing-here"), ("POST", "/v1/nothing-here"), ("GET", "/api/nothing-here"),
                         ("POST", "/playground")):
        r = httpx.request(method, url + path)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["message"].startswith("Unknown route"), (method, path)
    assert httpx.get(url + "/v1/models").status_code == 401
    assert httpx.get(url + "/health").json()["status"] == "ok"
    assert "text/html" in httpx.get(url + "/status").headers["content-type"]
    assert 'id="root"' not in httpx.get(url + "/status").text
    assert httpx.get(url + "/status.json").json()["page"]["name"] == "OpenMaaS"
    assert httpx.get(url + "/metrics").status_code == 401


def test_install_console_serves_only_its_build_and_says_how_to_build_it(tmp_path):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from openmaas.api.console import install_console
    from openmaas.api.errors import install_error_handlers

    def app_with(web_dir):
        app = FastAPI()
        install_error_handlers(app)
        app.get("/api/thing")(lambda: {"ok": True})
        install_console(app, web_dir)
        return TestClient(app)

    unbuilt = app_with(tmp_path / "missing")
    r = unbuilt.get("/fine-tuning")
    assert r.status_code == 503 and "make console" in r.text
    assert unbuilt.get("/api/thing").json() == {"ok": True}
    assert unbuilt.get("/api/other").json()["error"]["message"] == "Unknown route: GET /api/other"

    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text('<div id="root"></div>')
    (web / "robots.txt").write_text("User-agent: *")
    (tmp_path / "secret.txt").write_text("not for the web")
    built = app_with(web)
    assert built.get("/robots.txt").text == "User-agent: *"
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        r = built.get(path)
        assert "not for the web" not in r.text, path


# --- log in ---------------------------------------------------------------------------------------------------

def test_login_says_why_a_key_is_refused_then_keeps_the_key_in_the_session_only(admin_console):
    c, page = admin_console, admin_console.page
    page.goto("/usage")
    page.get_by_label("API key").fill("om-not-a-real-key-at-all")
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("API key")
    expect(alert).to_contain_text("HTTP 401")
    c.shot("01-login-refused")

    page.get_by_label("API key").fill(c.key)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Console")).to_contain_text("Admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Usage")  # back where the person was going
    assert page.evaluate("sessionStorage.getItem('openmaas.apiKey')") == c.key
    assert page.evaluate("localStorage.length") == 0
    assert c.key not in page.url
    page.reload()  # the session survives a reload of the tab
    expect(page.get_by_role("heading", level=1)).to_have_text("Usage")


# --- playground -----------------------------------------------------------------------------------------------

WATCH_STREAM = """() => {
  window.__texts = [];
  const panel = document.querySelector('[data-testid="panel-0"]');
  const record = () => {
    const turns = panel.querySelectorAll('.turn-assistant .turn-text');
    const last = turns[turns.length - 1];
    if (!last) return;
    const text = last.textContent.replace('\u258d', '');
    if (text && window.__texts[window.__texts.length - 1] !== text) window.__texts.push(text);
  };
  new MutationObserver(record).observe(panel, {subtree: true, childList: true, characterData: true});
}"""


def test_playground_streams_an_answer_with_its_numbers(admin_console):
    c, page = admin_console, admin_console.page
    c.open("/playground", "Playground")
    expect(page.get_by_label("Model", exact=True)).to_have_value(MODEL)
    page.get_by_label("Max tokens").fill("48")
    page.get_by_label("Seed").fill("3")
    page.get_by_label("Temperature").fill("0")
    page.evaluate(WATCH_STREAM)
    page.get_by_label("Message").fill("Write one sentence about the sea.")
    page.get_by_role("button", name="Send").click()

    panel = page.get_by_test_id("panel-0")
    stats = panel.get_by_label("Answer statistics")
    expect(stats).to_contain_text("tokens/s")
    expect(stats).to_contain_text(re.compile(r"time to first token \d+ ms"))
    tokens = int(re.search(r"(\d+) tokens", stats.inner_text()).group(1))
    assert 1 <= tokens <= 48

    texts = page.evaluate("window.__texts")
    answer = panel.locator(".turn-assistant .turn-text").last.inner_text()
    assert answer.strip() and texts[-1] == answer
    assert len(texts) >= 3, f"the answer arrived in {len(texts)} piece(s), not streamed: {texts}"
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:])), "each piece extends the last"
    c.shot("02-playground-streamed")


def test_playground_compares_two_models_and_shows_the_code(admin_console):
    c, page = admin_console, admin_console.page
    c.open("/playground", "Playground")
    page.get_by_label("Max tokens").fill("24")
    page.get_by_label("Compare two models").check()
    expect(page.get_by_label("Model A")).to_have_value(MODEL)
    expect(page.get_by_label("Model B")).to_have_value(MODEL)
    page.get_by_label("Message").fill("Name a colour.")
    page.get_by_role("button", name="Send").click()
    for index in (0, 1):
        expect(page.get_by_test_id(f"panel-{index}").get_by_label("Answer statistics")).to_contain_text("tokens/s")

    page.get_by_label("System prompt").fill("Answer in one word.")
    page.get_by_role("button", name="View code").click()
    code = page.get_by_label(f"Code for {MODEL}").first
    expect(code).to_contain_text("client.chat.completions.create(")
    expect(code).to_contain_text(f'model="{MODEL}"')
    expect(code).to_contain_text('"content": "Answer in one word."')
    expect(code).to_contain_text("max_tokens=24")
    c.shot("03-playground-compare-python")
    code.get_by_role("tab", name="curl").click()
    expect(code).to_contain_text(f"curl -N {c.server.url}/v1/chat/completions")
    expect(code).to_contain_text('"max_tokens": 24')
    c.shot("04-playground-curl")


def test_playground_shows_an_api_error_next_to_the_answer(admin_console):
    c, page = admin_console, admin_console.page
    c.open("/playground", "Playground")
    page.get_by_label("Max tokens").fill("0")  # the API refuses it, and says which parameter
    page.get_by_label("Message").fill("Hello")
    page.get_by_role("button", name="Send").click()
    alert = page.get_by_test_id("panel-0").get_by_role("alert")
    expect(alert).to_contain_text("HTTP 400")
    expect(alert).to_contain_text("max_tokens")
    c.shot("05-playground-error")


# --- models ---------------------------------------------------------------------------------------------------

def test_models_page_shows_the_hub_cards(admin_console):
    c, page = admin_console, admin_console.page
    c.open("/models", "Models")
    card = page.get_by_role("article", name=MODEL)
    expect(card).to_contain_text("deployed")
    for label in ("Family", "Quantization", "Context", "Source", "Size"):
        expect(card).to_contain_text(label)
    expect(card.get_by_role("link", name="Try in playground")).to_be_visible()

    page.get_by_role("button", name="Import a GGUF").click()
    form = page.get_by_role("form", name="Import a model")
    form.get_by_label("GGUF path on the server").fill("/nonexistent/model.gguf")
    form.get_by_label("Model id").fill("ghost")
    form.get_by_role("button", name="Import").click()
    expect(form.get_by_role("alert")).to_contain_text("HTTP 4")  # the server's refusal, in its words
    c.shot("06-models")


# --- deployments ----------------------------------------------------------------------------------------------

def test_deployments_create_scale_and_stop(admin_console, api):
    workspaces = api.get("/api/workspaces").json()["data"]
    team = next((w for w in workspaces if w["name"] == "console-team"), None) or \
        api.post("/api/workspaces", json={"name": "console-team"}).json()
    c, page = admin_console, admin_console.page
    c.open("/deployments", "Deployments")
    default = page.get_by_test_id("deployment").filter(has_text=MODEL).first
    expect(default).to_contain_text("ready")
    expect(default.get_by_role("table", name="Replicas")).to_contain_text("ready")

    page.get_by_role("button", name="New deployment").click()
    form = page.get_by_role("form", name="New deployment")
    form.get_by_label("Replicas").fill("9")
    form.get_by_role("button", name="Deploy").click()
    expect(form.get_by_text("Replicas", exact=True).locator("..").get_by_role("alert")).to_contain_text("replicas")
    c.shot("07-deployments-error-by-field")

    form.get_by_label("Replicas").fill("1")
    form.get_by_label("Context (tokens)").fill("512")
    form.get_by_label("For").select_option(label="console-team")
    form.get_by_role("button", name="Deploy").click()
    progress = form.get_by_test_id("deploy-progress")
    expect(progress).to_contain_text("is deployed", timeout=180_000)
    c.shot("08-deployments-created")

    card = page.get_by_test_id("deployment").filter(has_text=f"workspace {team['id']}")
    expect(card).to_have_count(1)
    old_id = next(d["id"] for d in api.get("/api/deployments").json()["data"] if d["workspace_id"] == team["id"])
    card.get_by_role("button", name="Scale").click()
    card.get_by_role("form", name="Scale").get_by_label("Replicas").fill("2")
    card.get_by_role("form", name="Scale").get_by_role("button", name="Apply").click()
    scaled = page.get_by_test_id("deployment").filter(has_text=f"workspace {team['id']}")
    expect(scaled.get_by_text("2 / 2")).to_be_visible(timeout=240_000)
    expect(scaled).to_have_count(1)  # scaled in place, not replaced
    live = api.get("/api/deployments").json()["data"]
    assert [(d["id"], d["replicas"]) for d in live if d["workspace_id"] == team["id"]] == [(old_id, 2)]
    c.shot("09-deployments-scaled")

    page.once("dialog", lambda dialog: dialog.accept())
    scaled.get_by_role("button", name="Stop").click()
    expect(page.get_by_test_id("deployment").filter(has_text=f"workspace {team['id']}")).to_have_count(0)
    assert not [d for d in api.get("/api/deployments").json()["data"] if d["workspace_id"] == team["id"]]


# --- keys -----------------------------------------------------------------------------------------------------

def test_keys_create_once_copy_and_revoke(admin_console, console_server):  # noqa: F811
    c, page = admin_console, admin_console.page
    c.open("/keys", "API keys")
    form = page.get_by_role("form", name="New key")
    form.get_by_label("Name").fill("e2e-ci")
    form.get_by_role("button", name="Create key").click()
    shown = page.get_by_test_id("new-key")
    expect(shown).to_contain_text("shown this once")
    key = page.get_by_test_id("new-key-value").inner_text().strip()
    assert key.startswith("om-")
    assert httpx.get(console_server.url + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    c.context.grant_permissions(["clipboard-read", "clipboard-write"])
    shown.get_by_role("button", name="Copy").click()
    expect(shown.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    # The clipboard is read asynchronously: wait until it holds the key rather than reading it once.
    page.wait_for_function("k => navigator.clipboard.readText().then(t => t === k)", arg=key, timeout=10_000)
    c.shot("10-keys-created")

    page.get_by_role("button", name="I have copied it").click()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    row = page.get_by_role("row").filter(has_text="e2e-ci")
    expect(row).to_contain_text(key[:10] + "…")
    assert key not in page.content()  # after that, only its prefix
    expect(row).to_contain_text("ago")  # last use: the check above
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("revoked")
    assert httpx.get(console_server.url + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    c.shot("11-keys-revoked")


# --- usage ----------------------------------------------------------------------------------------------------

def test_usage_charts_table_and_csv(admin_console):
    c, page = admin_console, admin_console.page
    c.open("/usage", "Usage")
    table = page.get_by_role("table", name="Usage")
    expect(table).to_contain_text(MODEL)
    expect(page.get_by_test_id("chart-by model").locator(".recharts-bar-rectangle").first).to_be_visible()
    expect(page.get_by_test_id("chart-by key").locator(".recharts-legend-item").first).to_contain_text("admin")
    page.get_by_label("Chart").select_option(label="Requests")
    expect(page.get_by_role("heading", name="Requests by model")).to_be_visible()
    c.shot("12-usage")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows and {"day", "model", "key", "requests", "total_tokens"} <= set(rows[0])
    assert sum(int(r["requests"]) for r in rows if r["model"] == MODEL) >= 3  # the playground's answers

    page.get_by_label("From", exact=True).fill("2001-01-01")
    page.get_by_label("To", exact=True).fill("2001-01-31")
    expect(page.get_by_text("No model requests in this range.")).to_be_visible()
    c.shot("13-usage-empty-range")


# --- status and inbox -----------------------------------------------------------------------------------------

def test_status_components_incidents_channels_and_inbox(admin_console, api):
    c, page = admin_console, admin_console.page
    incident = api.post("/api/incidents", json={"title": "Console e2e: slow answers", "message": "We are looking into it.",
                                                "impact": "degraded_performance"})
    assert incident.status_code == 201, incident.text
    c.open("/availability", "Status & inbox")
    components = page.get_by_role("table", name="Components")
    expect(components).to_contain_text(re.compile("operational", re.I))
    expect(components.locator(".recharts-bar-rectangle").first).to_be_visible()  # 90-day uptime bars
    expect(page.get_by_role("article").filter(has_text="Console e2e: slow answers")).to_contain_text("We are looking into it.")
    inbox = page.get_by_label("Inbox")
    expect(inbox).to_contain_text("Console e2e: slow answers", timeout=60_000)
    expect(inbox).to_contain_text("unread")

    channels = page.get_by_label("Notification channels")
    channels.get_by_label("URL").fill("not a url")
    channels.get_by_role("button", name="Add").click()
    expect(channels.get_by_role("alert")).to_contain_text("HTTP 400")
    channels.get_by_label("URL").fill("http://127.0.0.1:9/hook")
    channels.get_by_role("button", name="Add").click()
    expect(channels.get_by_role("status")).to_contain_text("Signing secret")
    expect(channels).to_contain_text("http://127.0.0.1:9/hook")
    c.shot("14-status-and-inbox")

    inbox.get_by_role("button", name="Mark all read").click()
    expect(inbox).to_contain_text("0 unread")
    api.post(f"/api/incidents/{incident.json()['id']}/resolve", json={"message": "Fixed."})


# --- a workspace key ------------------------------------------------------------------------------------------

def test_a_workspace_key_sees_its_workspace_and_what_to_do_next(browser, console_server, artifacts, api):  # noqa: F811
    workspace = api.post("/api/workspaces", json={"name": "fresh-team"}).json()
    key = api.post("/api/keys", json={"name": "fresh-key", "workspace_id": workspace["id"]}).json()["key"]
    c = Console(browser, console_server, artifacts, key, "fresh")
    try:
        c.open("/playground", "Playground")
        expect(c.page.get_by_role("navigation", name="Console")).to_contain_text("Workspace: fresh-team")
        c.open("/usage", "Usage")
        expect(c.page.get_by_text("No model requests in this range.")).to_be_visible()
        c.shot("15-workspace-usage-empty")
        c.open("/keys", "API keys")
        rows = c.page.get_by_role("table", name="Keys").locator("tbody tr")
        expect(rows).to_have_count(1)  # its own key, none of another workspace's
        expect(rows).to_contain_text("this session")
        c.open("/models", "Models")
        expect(c.page.get_by_role("button", name="Import a GGUF")).to_have_count(0)  # an admin's action
        c.open("/availability", "Status & inbox")
        expect(c.page.get_by_label("Inbox")).to_be_visible()
        c.shot("16-workspace-status")
        assert not c.errors, c.errors
    finally:
        c.close()


# --- data (needs the files API) -------------------------------------------------------------------------------

def test_data_upload_shows_line_errors_then_statistics_and_preview(admin_console, api, tmp_path):
    if missing(api, "/v1/files"):
        pytest.skip("the files API (/v1/files) is not in this build yet")
    c, page = admin_console, admin_console.page
    c.open("/data", "Data")
    expect(page.get_by_text("No training files yet.")).to_be_visible()
    c.shot("17-data-empty")

    bad = tmp_path / "bad.jsonl"
    bad.write_text(BAD_FILE)
    with page.expect_response(lambda r: r.url.endswith("/v1/files") and r.request.method == "POST") as answer:
        page.get_by_label("Training file").set_input_files(str(bad))
    refused = answer.value
    assert refused.status == 400
    details = refused.json()["error"]["details"]
    assert {d["line"] for d in details} >= {2, 3}
    shown = page.get_by_test_id("upload-error")
    expect(shown).to_contain_text("bad.jsonl")
    problems = shown.get_by_role("list", name="Problems by line")
    expect(problems.get_by_role("listitem")).to_have_count(len(details))
    for d in details:
        expect(problems).to_contain_text(f"Line {d['line']}")
        expect(problems).to_contain_text(d["reason"])
    c.shot("18-data-line-errors")

    good = tmp_path / "french-numbers.jsonl"
    good.write_text("".join(json.dumps(line) + "\n" for line in GOOD_LINES))
    # Drag and drop, as a person would: a DataTransfer carrying the file, dropped on the zone.
    page.get_by_test_id("dropzone").evaluate("""(zone, text) => {
        const data = new DataTransfer();
        data.items.add(new File([text], 'french-numbers.jsonl', {type: 'application/jsonl'}));
        zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
    }""", good.read_text())
    expect(page.get_by_test_id("upload-ok")).to_contain_text("french-numbers.jsonl")
    detail = page.get_by_test_id("file-detail")
    stats = detail.get_by_label("Statistics")
    expect(stats).to_contain_text(str(len(GOOD_LINES)))
    expect(stats).to_contain_text("Tokens")
    examples = detail.get_by_test_id("preview-example")
    expect(examples.first).to_contain_text("Say the number 1.")
    expect(examples.first).to_contain_text("Le nombre est 1.")
    c.shot("19-data-uploaded")


# --- fine-tuning (needs the fine-tuning API) ------------------------------------------------------------------

FINE_TUNE_TIMEOUT_S = 1200


def test_fine_tuning_job_with_a_live_loss_chart_evaluation_and_deploy(admin_console, api):
    if missing(api, "/v1/fine_tuning/jobs"):
        pytest.skip("the fine-tuning API (/v1/fine_tuning/jobs) is not in this build yet")
    files = api.get("/v1/files").json()["data"]
    training = next((f for f in files if f["filename"] == "french-numbers.jsonl"), None)
    if training is None:
        pytest.skip("no training file: the data step did not upload one")
    c, page = admin_console, admin_console.page
    c.open("/fine-tuning", "Fine-tuning")
    form = page.get_by_role("form", name="New fine-tuning job")
    form.get_by_label("Base model").select_option(MODEL)
    form.get_by_label("Training file").select_option(training["id"])
    form.get_by_label("Suffix").fill("french")
    form.get_by_label("Seed").fill("42")
    form.get_by_label("Explicit").check()
    form.get_by_label("Epochs").fill("2")
    form.get_by_label("Batch size").fill("2")
    form.get_by_label("Learning rate multiplier").fill("5")
    c.shot("20-fine-tuning-form")
    form.get_by_role("button", name="Start fine-tuning").click()
    expect(page).to_have_url(re.compile(r"/fine-tuning/ftjob[-_]"))
    job_id = page.url.rsplit("/", 1)[1]

    # The chart draws itself while the job runs: its points grow without a reload.
    chart = page.get_by_test_id("loss-chart")
    expect(chart).to_be_visible(timeout=FINE_TUNE_TIMEOUT_S * 1000)
    first = int(chart.get_attribute("data-points"))
    expect(chart).not_to_have_attribute("data-points", str(first), timeout=FINE_TUNE_TIMEOUT_S * 1000)
    assert int(chart.get_attribute("data-points")) > first, "the chart grew while the job ran, without a reload"
    c.shot("21-fine-tuning-running")
    deadline = time.monotonic() + FINE_TUNE_TIMEOUT_S
    status = api.get(f"/v1/fine_tuning/jobs/{job_id}").json()["status"]
    while status in ("validating_files", "queued", "running") and time.monotonic() < deadline:
        time.sleep(2)
        status = api.get(f"/v1/fine_tuning/jobs/{job_id}").json()["status"]
    assert status == "succeeded", api.get(f"/v1/fine_tuning/jobs/{job_id}").json()
    expect(page.get_by_role("heading", level=1).locator("..")).to_contain_text("succeeded")
    expect(page.get_by_role("list", name="Events")).to_contain_text(re.compile(r"\w"))

    evaluation = page.get_by_test_id("evaluation")
    expect(evaluation.get_by_role("table", name="Validation")).to_contain_text("Perplexity")
    expect(evaluation.get_by_role("table", name="Answers, base and tuned")).to_be_visible()
    c.shot("22-fine-tuning-succeeded")

    tuned = api.get(f"/v1/fine_tuning/jobs/{job_id}").json()["fine_tuned_model"]
    page.get_by_role("button", name=f"Deploy {tuned}").click()
    expect(page.get_by_test_id("deploy-progress")).to_contain_text("is deployed", timeout=240_000)
    page.get_by_role("link", name="Try it in the playground").click()
    expect(page.get_by_label("Model", exact=True)).to_have_value(tuned)
    page.get_by_label("Max tokens").fill("16")
    page.get_by_label("Message").fill("Say the number 7.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("panel-0").get_by_label("Answer statistics")).to_contain_text("tokens/s")
    c.shot("23-playground-tuned-model")

    c.open("/models", "Models")
    card = page.get_by_role("article", name=tuned)
    expect(card).to_contain_text("fine-tuned")
    expect(card).to_contain_text(MODEL)  # its base
    c.shot("24-models-tuned-card")


def test_fine_tuning_job_can_be_cancelled(admin_console, api):
    if missing(api, "/v1/fine_tuning/jobs"):
        pytest.skip("the fine-tuning API (/v1/fine_tuning/jobs) is not in this build yet")
    files = [f for f in api.get("/v1/files").json()["data"] if f["filename"] == "french-numbers.jsonl"]
    if not files:
        pytest.skip("no training file: the data step did not upload one")
    job = api.post("/v1/fine_tuning/jobs", json={"model": MODEL, "training_file": files[0]["id"],
                                                 "hyperparameters": {"n_epochs": 3}})
    assert job.status_code in (200, 201), job.text
    c, page = admin_console, admin_console.page
    c.open(f"/fine-tuning/{job.json()['id']}", "Job ftjob")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel job").click()
    expect(page.get_by_role("heading", level=1).locator("..")).to_contain_text("cancelled")
    c.open("/fine-tuning", "Fine-tuning")
    expect(page.get_by_role("table", name="Jobs")).to_contain_text("cancelled")
    c.shot("25-fine-tuning-jobs")
