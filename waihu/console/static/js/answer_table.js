// The two-dimensional answer table: nodes × intents, reply and next step per cell, the global row first.
import { $, api, data, fillVersions, h, param, run, t, tags } from "./common.js";

const SPECIAL = new Set(["hangup", "transfer", "stay", "repeat", "return"]);
const flowId = data.flowId;

function cellContent(cell) {
  const more = cell.reply.length > 1 ? h("span", { class: "muted", title: cell.reply.slice(1).join("\n") }, ` +${cell.reply.length - 1}`) : "";
  const next = SPECIAL.has(cell.next)
    ? h("div", { class: "next special" }, `→ ${cell.next}`)
    : h("div", { class: "next" }, "→ ", h("a", { href: `#node-${cell.next}` }, cell.next));
  return [
    cell.reply.length ? h("div", { class: "reply", title: cell.reply.join("\n") }, cell.reply[0], more) : "",
    cell.tags.length ? h("div", {}, tags(cell.tags)) : "",
    cell.dnc ? h("div", { class: "dnc" }, t("table.dnc")) : "",
    next,
  ];
}

function rowHead(row) {
  if (row.kind === "global") {
    return h("th", { class: "node" }, h("div", { class: "nodeid" }, t("table.global")),
      h("div", { class: "prompt" }, t("table.global_hint")));
  }
  return h("th", { class: "node", id: `node-${row.id}` },
    h("div", { class: "nodeid" }, row.id, row.start ? h("span", { class: "badge ok", style: "margin-left:6px" }, t("table.start")) : ""),
    h("div", { class: "prompt", title: row.prompt }, row.prompt.length > 60 ? `${row.prompt.slice(0, 60)}…` : row.prompt),
    row.then !== "listen" ? h("div", { class: "next special" }, t("table.then", { next: row.then })) : "",
    row.tags.length ? h("div", {}, tags(row.tags)) : "",
    Object.keys(row.dtmf).length ? h("div", { class: "small muted" }, t("table.keys", { keys: Object.entries(row.dtmf).map(([k, v]) => `${k}→${v}`).join(", ") })) : "");
}

async function render(version) {
  history.replaceState(null, "", `?version=${version}`);
  $("#to-editor").href = `/console/flows/${encodeURIComponent(flowId)}?version=${version}`;
  const row = await api(`/v1/flows/${encodeURIComponent(flowId)}/versions/${version}`);
  const table = await api("/console/api/flows/table", { method: "POST", body: { yaml: row.yaml } });
  const global = table.rows.find((r) => r.kind === "global");
  const rows = [global, ...table.rows.filter((r) => r.kind !== "global")];
  $("#answers").replaceChildren(
    h("thead", {}, h("tr", {}, h("th", { class: "node" }, t("table.corner")), table.columns.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", { class: r.kind, "data-node": r.id }, rowHead(r),
      table.columns.map((intent) => {
        const cell = r.cells[intent];
        if (cell) return h("td", { "data-intent": intent }, cellContent(cell));
        if (r.kind === "node" && r.then === "listen" && global.cells[intent]) return h("td", { class: "inherit" }, t("table.inherit"));
        return h("td", { class: "empty" }, "");
      })))),
  );
  $("#unused").textContent = table.unused.length ? t("table.unused", { list: table.unused.join(", ") }) : "";
}

run(async () => {
  $("#flow-title").textContent = flowId;
  const version = await fillVersions($("#version"), flowId, param("version"));
  $("#version").addEventListener("change", (event) => render(event.target.value));
  await render(version);
});
