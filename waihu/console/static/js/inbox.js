// The learning inbox: utterances calls could not classify, grouped; add a group to an intent or a KB
// entry (a new flow version, after the flow's tests pass) or dismiss it.
import { $, api, fillFlows, h, param, run, showError, showOk, t } from "./common.js";

const flowId = () => $("#flow").value;
const base = () => `/v1/flows/${encodeURIComponent(flowId())}/inbox`;

/** The <select> of what a group can become: the flow's intents, then its KB entries. */
function targetSelect(inbox, guess) {
  const intents = h("optgroup", { label: t("inbox.intent_examples") },
    ...inbox.intents.map((name) => h("option", { value: `intent:${name}`, selected: name === guess }, name)));
  const kb = h("optgroup", { label: t("inbox.kb_questions") },
    ...inbox.kb_entries.map((e) => h("option", { value: `kb:${e.id}`, selected: `faq:${e.id}` === guess },
      `${e.id}${e.question ? t("inbox.kb_question", { question: e.question }) : ""}`)));
  return h("select", { class: "target", title: t("inbox.target") }, intents, inbox.kb_entries.length ? kb : "");
}

async function act(group, action, select) {
  const ids = group.items.map((item) => item.id);
  try {
    if (action === "dismiss") {
      await api(`${base()}/dismiss`, { method: "POST", body: { item_ids: ids } });
      showOk("#inbox-status", t("inbox.dismissed", { text: group.representative, count: ids.length }));
    } else {
      const [kind, name] = [select.value.split(":")[0], select.value.slice(select.value.indexOf(":") + 1)];
      const body = kind === "kb" ? { item_ids: ids, kb_id: name } : { item_ids: ids, intent: name };
      const added = await api(`${base()}/add`, { method: "POST", body });
      const version = added.version ? t("inbox.new_version", { version: added.version }) : t("inbox.no_new_version");
      showOk("#inbox-status", t("inbox.added", { text: group.representative, target: added.target, version, tests: added.tests_run }));
    }
    await show();
  } catch (error) {
    showError("#inbox-status", error);
  }
}

async function show() {
  history.replaceState(null, "", `?flow=${encodeURIComponent(flowId())}`);
  const inbox = await api(base());
  const body = $("#groups tbody");
  if (!inbox.groups.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("inbox.empty"))));
    return;
  }
  body.replaceChildren(...inbox.groups.map((group) => {
    const select = targetSelect(inbox, group.top_guess);
    const others = group.items.filter((item) => item.text !== group.representative).map((item) => item.text);
    return h("tr", { "data-group": group.id },
      h("td", {}, h("b", { class: "representative" }, group.representative),
        others.length ? h("div", { class: "small muted" }, t("inbox.similar", { list: [...new Set(others)].join(" / ") })) : ""),
      h("td", { class: "count" }, String(group.count)),
      h("td", { class: "guess" }, group.top_guess || h("span", { class: "muted" }, t("inbox.no_guess"))),
      h("td", {}, select),
      h("td", {},
        h("button", { class: "primary add", type: "button", onclick: () => act(group, "add", select) }, t("inbox.add")), " ",
        h("button", { class: "dismiss", type: "button", onclick: () => act(group, "dismiss") }, t("inbox.dismiss"))));
  }));
}

run(async () => {
  const flows = await fillFlows($("#flow"), param("flow"));
  if (!flows.length) {
    $("#groups tbody").replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("inbox.no_flows"))));
    return;
  }
  $("#flow").addEventListener("change", () => show().catch((e) => showError("#page-error", e)));
  await show();
});
