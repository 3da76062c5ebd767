// Chat with a flow: robot lines with playable TTS, node / intent / confidence per turn, the final grade.
import { $, api, clear, fillFlows, fillVersions, h, label, param, run, showError, t, tags } from "./common.js";

let session = null;
let language = "zh";
const chat = $("#chat");
const controls = ["#say", "#send", "#silence", "#digit", "#dtmf", "#hangup"];

function enable(on) {
  for (const selector of controls) $(selector).disabled = !on;
  if (on) $("#say").focus();
}

function scroll() {
  chat.scrollTop = chat.scrollHeight;
}

async function speech(text) {
  const response = await api("/console/api/tts", { method: "POST", body: { text, language }, raw: true });
  return URL.createObjectURL(await response.blob());
}

function robotSays(lines, meta) {
  for (const text of lines) {
    const audio = h("audio", { controls: true, preload: "auto" });
    const message = h("div", { class: "msg robot" }, h("div", { class: "bubble" }, text), audio);
    chat.append(message);
    speech(text).then((url) => {
      audio.src = url;
      if ($("#autoplay").checked) audio.play().catch(() => {});
    }).catch((error) => message.append(h("div", { class: "meta" }, t("sim.no_audio", { error: error.message }))));
  }
  if (meta) chat.append(h("div", { class: "msg robot" }, h("div", { class: "meta" }, meta)));
  scroll();
}

function describeTurn(turn) {
  const parts = [t("sim.turn_node", { node: turn.node ?? "—" })];
  if (turn.intent) parts.push(t("sim.turn_intent", { intent: turn.intent, confidence: turn.confidence.toFixed(2) }));
  if (turn.source && turn.source !== "node") parts.push(t("sim.turn_via", { source: label("turn_source", turn.source) }));
  return parts.join(" · ");
}

function showTurn(turn, calleeMessage) {
  if (calleeMessage) calleeMessage.append(h("div", { class: "meta" }, describeTurn(turn)));
  robotSays(turn.said, calleeMessage ? "" : describeTurn(turn));
  if (turn.finished) {
    enable(false);
    const result = turn.result;
    $("#result").hidden = false;
    $("#grade").textContent = result.grade;
    $("#grade-label").textContent = result.grade_label;
    $("#result-tags").replaceChildren(...tags(result.tags));
    const meta = [label("conversation_end", result.outcome), t("sim.rounds", { rounds: result.rounds })];
    if (result.dnc) meta.push(t("sim.dnc"));
    if (result.kb_hits.length) meta.push(t("sim.kb_hits", { list: result.kb_hits.join(", ") }));
    $("#result-meta").textContent = meta.join(" · ");
    chat.append(h("p", { class: "muted small" }, t("sim.ended", { outcome: label("conversation_end", result.outcome), grade: result.grade })));
    scroll();
  }
}

async function act(body, label) {
  const message = h("div", { class: "msg callee" }, h("div", { class: "bubble" }, label));
  chat.append(message);
  scroll();
  try {
    const { turn } = await api(`/console/api/sim/${session}`, { method: "POST", body });
    showTurn(turn, message);
  } catch (error) {
    showError("#page-error", error);
  }
}

async function showVariables(flowId, version) {
  const info = await api(`/console/api/flows/${encodeURIComponent(flowId)}/versions/${version}/info`);
  $("#variables").replaceChildren(...info.variables.map((v) => h("div", { class: "field" },
    h("label", { for: `var-${v.name}`, title: v.description }, `${v.name}${v.required ? " *" : ""}`),
    h("input", { id: `var-${v.name}`, "data-var": v.name, value: v.default, placeholder: v.description, required: v.required }))));
}

async function start() {
  clear("#page-error");
  const variables = {};
  for (const input of document.querySelectorAll("[data-var]")) if (input.value) variables[input.dataset.var] = input.value;
  try {
    const started = await api("/console/api/sim", { method: "POST", body: { flow_id: $("#flow").value, version: Number($("#version").value), variables } });
    session = started.session_id;
    language = started.language;
    chat.replaceChildren();
    $("#result").hidden = true;
    showTurn(started.turn);
    enable(!started.turn.finished);
  } catch (error) {
    showError("#page-error", error);
  }
}

run(async () => {
  const flows = await fillFlows($("#flow"), param("flow"));
  if (!flows.length) {
    chat.replaceChildren(h("p", { class: "muted" }, t("sim.no_flows")));
    return;
  }
  const onFlow = async (version) => {
    const chosen = await fillVersions($("#version"), $("#flow").value, version);
    await showVariables($("#flow").value, chosen);
  };
  $("#flow").addEventListener("change", () => onFlow());
  $("#version").addEventListener("change", () => showVariables($("#flow").value, $("#version").value));
  $("#start").addEventListener("click", start);
  $("#say-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#say").value.trim();
    if (!text) return;
    $("#say").value = "";
    act({ kind: "say", text }, text);
  });
  $("#silence").addEventListener("click", () => act({ kind: "silence" }, t("sim.said_silence")));
  $("#dtmf").addEventListener("click", () => act({ kind: "dtmf", digit: $("#digit").value }, t("sim.said_dtmf", { digit: $("#digit").value })));
  $("#hangup").addEventListener("click", () => act({ kind: "hangup" }, t("sim.said_hangup")));
  await onFlow(param("version"));
});
