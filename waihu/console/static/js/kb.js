// A flow's knowledge base and a "try a question" box showing the matching entries with their scores.
import { $, api, clear, fillFlows, fillVersions, h, param, run, showError, t } from "./common.js";

const base = () => `/console/api/flows/${encodeURIComponent($("#flow").value)}/versions/${$("#version").value}`;

async function showEntries() {
  history.replaceState(null, "", `?flow=${encodeURIComponent($("#flow").value)}&version=${$("#version").value}`);
  clear("#hits");
  const { items } = await api(`${base()}/kb`);
  const body = $("#entries tbody");
  if (!items.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("kb.empty"))));
    return;
  }
  body.replaceChildren(...items.map((e) => h("tr", { "data-entry": e.id },
    h("td", {}, h("code", {}, e.id)),
    h("td", {}, e.questions.map((q) => h("span", { class: "q" }, q))),
    h("td", { class: "small" }, e.keywords.join(", ")),
    h("td", {}, e.answer.map((a) => h("div", {}, a))),
    h("td", { class: "small muted" }, e.then))));
}

async function ask(event) {
  event.preventDefault();
  try {
    const result = await api(`${base()}/kb/search`, { method: "POST", body: { question: $("#question").value, top_k: 3 } });
    for (const row of document.querySelectorAll("#entries tr.hit")) row.classList.remove("hit");
    if (!result.hits.length) {
      $("#hits").replaceChildren(h("p", { class: "muted" }, t("kb.no_match")));
      return;
    }
    document.querySelector(`#entries tr[data-entry="${CSS.escape(result.hits[0].entry_id)}"]`)?.classList.add("hit");
    $("#hits").replaceChildren(h("p", { class: "small muted" }, t("kb.matched_by", { method: result.method })),
      ...result.hits.map((hit, index) => h("div", { class: `panel hit${index === 0 ? " best" : ""}`, style: "padding:10px;margin-bottom:8px" },
        h("div", {}, h("code", { class: "entry" }, hit.entry_id), " ",
          h("span", { class: "score", title: String(hit.score) }, h("div", { style: `width:${Math.round(hit.score * 100)}%` })),
          " ", h("b", { class: "value" }, hit.score.toFixed(2))),
        h("div", { class: "small" }, hit.answer))));
  } catch (error) {
    showError("#hits", error);
  }
}

run(async () => {
  const flows = await fillFlows($("#flow"), param("flow"));
  if (!flows.length) return;
  await fillVersions($("#version"), $("#flow").value, param("version"));
  $("#flow").addEventListener("change", async () => {
    await fillVersions($("#version"), $("#flow").value);
    showEntries().catch((e) => showError("#page-error", e));
  });
  $("#version").addEventListener("change", () => showEntries().catch((e) => showError("#page-error", e)));
  $("#ask-form").addEventListener("submit", ask);
  await showEntries();
});
