// Flow editor: YAML with problems highlighted at their line as you type; save as a new version; tests.
import { $, api, clear, data, debounce, describe, fillVersions, h, param, run, showError, showOk, t } from "./common.js";
import { flowError, problemLine, problemMessage } from "./flow_problems.js";

const NEW = "_new";
/** Names of the loaded version's recordings: the YAML may name them in `audio:`. */
let recordingNames = [];
let loadedVersion = 0;
const TEMPLATE = `flow:
  id: my_flow
  name: My flow
  language: zh
  version: 1
start: greeting
nodes:
  greeting:
    prompt: 您好，请问现在方便说话吗？
    answers:
      affirm: {reply: 好的。, next: bye}
      deny: {next: bye}
  bye:
    prompt: 感谢您的接听，再见！
    then: hangup
intents:
  affirm: {examples: [好的, 可以], keywords: [好, 可以, 方便]}
  deny: {examples: [不方便, 不用了], keywords: [不, 没空]}
fallbacks:
  no_input: {replies: [喂，您好？], exhausted: {reply: 稍后再联系您，再见！, next: hangup}}
  no_match: {replies: [不好意思，我没听清。], exhausted: {reply: 稍后再联系您，再见！, next: hangup}}
`;

let flowId = data.flowId;
const textarea = $("#yaml");
let problems = [];
let sequence = 0;

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ENTITIES[c]);

/** Redraw the gutter and the backdrop: line numbers, problem lines tinted, messages after the line. */
function paint() {
  const lines = textarea.value.split("\n");
  const byLine = new Map();
  for (const p of problems) {
    const list = byLine.get(p.line) || [];
    list.push(p);
    byLine.set(p.line, list);
  }
  const gutter = [];
  const back = [];
  lines.forEach((line, index) => {
    const here = byLine.get(index + 1);
    const kind = here ? (here.some((p) => p.severity === "error") ? "error" : "warning") : "";
    const title = here ? escapeHtml(here.map((p) => `${p.line}:${p.col} ${problemMessage(p)}`).join("\n")) : "";
    gutter.push(`<div class="${kind}" title="${title}">${here ? "● " : ""}${index + 1}</div>`);
    const message = here ? `<span class="msg">⟵ ${escapeHtml(here.map((p) => `${p.col}: ${problemMessage(p)}`).join(" · "))}</span>` : "";
    back.push(`<div class="${kind}" data-line="${index + 1}">${escapeHtml(line) || " "}${message}</div>`);
  });
  $("#gutter").innerHTML = gutter.join("");
  $("#backdrop").innerHTML = back.join("");
  syncScroll();
}

function syncScroll() {
  $("#backdrop").scrollTop = textarea.scrollTop;
  $("#backdrop").scrollLeft = textarea.scrollLeft;
  $("#gutter").scrollTop = textarea.scrollTop;
}

function goToLine(line, col = 1) {
  const lines = textarea.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += Math.max(0, col - 1);
  textarea.focus();
  textarea.setSelectionRange(offset, offset);
  textarea.scrollTop = Math.max(0, (line - 5) * 20);
  syncScroll();
}

function showProblems(result) {
  problems = result.problems;
  const list = $("#problems");
  list.replaceChildren(...problems.map((p) => h("li", {
    class: p.severity, title: t("editor.go_to_line"), onclick: () => goToLine(p.line, p.col),
  }, problemLine(p))));
  $("#no-problems").hidden = problems.length > 0;
  const errors = problems.filter((p) => p.severity === "error").length;
  const status = $("#status");
  status.className = `status ${result.ok ? "ok" : "bad"}`;
  const flow = result.flow_id;
  const count = problems.length;
  if (result.ok) {
    status.textContent = count === 0 ? t("editor.valid", { flow_id: flow })
      : count === 1 ? t("editor.valid_warning", { flow_id: flow }) : t("editor.valid_warnings", { count, flow_id: flow });
  } else {
    status.textContent = errors === 1 ? t("editor.invalid_one") : t("editor.invalid", { count: errors });
  }
  $("#save").disabled = !result.ok;
  paint();
}

async function validate() {
  const mine = ++sequence;
  try {
    const result = await api("/console/api/flows/validate", { method: "POST", body: { yaml: textarea.value, filename: `${flowId === NEW ? "flow" : flowId}.yaml`, recordings: recordingNames } });
    if (mine === sequence) showProblems(result);
  } catch (error) {
    if (mine === sequence) showError("#save-result", error);
  }
}
const validateSoon = debounce(validate, 350);

/** The version's recordings, each with a player (fetched with the key, so played from a blob URL). */
async function showRecordings(version, recordings) {
  recordingNames = recordings.map((r) => r.name);
  $("#recordings-panel").hidden = !recordings.length;
  const base = `/v1/flows/${encodeURIComponent(flowId)}/versions/${version}/recordings/`;
  $("#recordings").replaceChildren(...recordings.map((r) => {
    const player = h("audio", { controls: "", preload: "metadata" });
    api(base + r.name.split("/").map(encodeURIComponent).join("/"), { raw: true })
      .then((response) => response.blob())
      .then((blob) => { player.src = URL.createObjectURL(blob); })
      .catch((error) => player.replaceWith(h("span", { class: "small error" }, describe(error))));
    return h("li", { "data-name": r.name },
      h("code", {}, r.name), " ", h("span", { class: "small muted" }, t("editor.seconds", { seconds: (r.duration_ms / 1000).toFixed(1) })),
      h("br"), player);
  }));
}

async function loadVersion(version) {
  const row = await api(`/v1/flows/${encodeURIComponent(flowId)}/versions/${version}`);
  await showRecordings(version, row.recordings || []);
  loadedVersion = version;
  textarea.value = row.yaml;
  history.replaceState(null, "", `/console/flows/${encodeURIComponent(flowId)}?version=${version}`);
  setLinks(version);
  paint();
  validate();
}

function setLinks(version) {
  const id = encodeURIComponent(flowId);
  $("#flow-title").textContent = flowId === NEW ? t("editor.new_flow") : flowId;
  $("#to-table").href = `/console/flows/${id}/table?version=${version}`;
  $("#to-sim").href = `/console/simulator?flow=${id}&version=${version}`;
  $("#to-kb").href = `/console/kb?flow=${id}&version=${version}`;
  for (const link of ["#to-table", "#to-sim", "#to-kb", "#version"]) $(link).hidden = flowId === NEW;
}

async function save() {
  clear("#save-result");
  try {
    // An edited bundle flow keeps the recordings of the version it was loaded from.
    const keep = recordingNames.length ? `?recordings_from=${loadedVersion}` : "";
    const stored = await api(`/v1/flows${keep}`, { method: "POST", body: textarea.value, contentType: "application/yaml" });
    const fresh = stored.flow_id !== flowId;
    flowId = stored.flow_id;
    await fillVersions($("#version"), flowId, stored.version);
    history.replaceState(null, "", `/console/flows/${encodeURIComponent(flowId)}?version=${stored.version}`);
    setLinks(stored.version);
    showOk("#save-result", t("editor.saved", { flow_id: stored.flow_id, version: stored.version }),
      stored.warnings?.length ? t("editor.saved_warnings", { count: stored.warnings.length }) : "");
    if (fresh) loadTests();
  } catch (error) {
    showError("#save-result", flowError(error));
  }
}

async function loadTests() {
  if (flowId === NEW) {
    $("#tests-source").textContent = t("editor.tests_paste");
    return;
  }
  const tests = await api(`/console/api/flows/${encodeURIComponent(flowId)}/tests`);
  $("#tests-yaml").value = tests.yaml;
  $("#tests-source").textContent = tests.source
    ? t("editor.tests_shipped", { source: tests.source })
    : t("editor.tests_none");
  if (!tests.yaml) $("#tests-details").open = true;
}

async function runTests() {
  const button = $("#run-tests");
  button.disabled = true;
  $("#tests-summary").textContent = t("editor.tests_running");
  clear("#tests-results");
  try {
    const result = await api("/console/api/flows/tests", { method: "POST", body: { flow_yaml: textarea.value, tests_yaml: $("#tests-yaml").value } });
    $("#tests-summary").replaceChildren(h("b", { class: result.failed ? "status bad" : "status ok" },
      t("editor.tests_summary", { passed: result.passed, failed: result.failed })));
    $("#tests-results").replaceChildren(...result.cases.map((c) => h("div", { class: `case ${c.passed ? "pass" : "fail"}` },
      h("div", { class: "name" }, c.name),
      c.failures.length ? h("pre", {}, c.failures.join("\n")) : "",
      h("details", {}, h("summary", { class: "small muted" }, t("editor.transcript")), h("pre", {}, c.transcript.join("\n"))))));
  } catch (error) {
    $("#tests-summary").textContent = "";
    showError("#tests-results", error);
  } finally {
    button.disabled = false;
  }
}

run(async () => {
  textarea.addEventListener("input", () => {
    paint();
    validateSoon();
  });
  textarea.addEventListener("scroll", syncScroll);
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Tab") { // two spaces, as YAML wants
      event.preventDefault();
      textarea.setRangeText("  ", textarea.selectionStart, textarea.selectionEnd, "end");
      paint();
      validateSoon();
    } else if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      if (!$("#save").disabled) save();
    }
  });
  $("#save").addEventListener("click", save);
  $("#run-tests").addEventListener("click", runTests);
  $("#version").addEventListener("change", (event) => loadVersion(event.target.value));
  if (flowId === NEW) {
    textarea.value = TEMPLATE;
    setLinks(0);
    paint();
    validate();
  } else {
    const version = await fillVersions($("#version"), flowId, param("version"));
    await loadVersion(version);
  }
  await loadTests().catch((error) => { $("#tests-source").textContent = describe(error); });
});
