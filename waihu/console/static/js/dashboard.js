// A campaign's live dashboard: polls the stats every 2 s; funnel, grades, latency chart, latest calls.
import { $, api, data, fmtTime, h, label, run, showError, t, tags, toast, wordProblem } from "./common.js";
import { wireExports } from "./exports.js";
import { fmtClock, labelZones } from "./time.js";

const id = data.campaignId;
const NS = "http://www.w3.org/2000/svg";
let timer = null;

/** Labelled bars; `data-label` keeps the raw name (a stable hook), `word` gives the text shown. */
function bars(target, entries, total, classOf = () => "", word = (name) => name) {
  $(target).replaceChildren(...entries.map(([name, count]) => h("div", { class: "bar", "data-label": name },
    h("span", {}, word(name)),
    h("div", { class: "track" }, h("div", { class: `fill ${classOf(name)}`, style: `width:${total ? (100 * count) / total : 0}%` })),
    h("b", { class: "count" }, `${count}${total ? ` · ${Math.round((100 * count) / total)}%` : ""}`))));
}

function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function chart(points) {
  const box = $("#latency");
  box.replaceChildren();
  if (!points.length) {
    const text = svg("text", { x: 300, y: 95, "text-anchor": "middle", fill: "#9ca3af", "font-size": 14 });
    text.textContent = t("dashboard.no_answered");
    box.append(text);
    return;
  }
  const max = Math.max(...points.map((p) => p.s), 1);
  const left = 40, right = 590, top = 12, bottom = 160;
  const x = (i) => (points.length === 1 ? (left + right) / 2 : left + ((right - left) * i) / (points.length - 1));
  const y = (v) => bottom - ((bottom - top) * v) / max;
  for (const v of [0, max / 2, max]) {
    box.append(svg("line", { x1: left, x2: right, y1: y(v), y2: y(v), stroke: "#e5e7eb" }));
    const label = svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 10, fill: "#6b7280" });
    label.textContent = `${v.toFixed(1)}s`;
    box.append(label);
  }
  box.append(svg("polyline", { points: points.map((p, i) => `${x(i)},${y(p.s)}`).join(" "), fill: "none", stroke: "#2563eb", "stroke-width": 2 }));
  points.forEach((p, i) => {
    const dot = svg("circle", { cx: x(i), cy: y(p.s), r: 3, fill: "#2563eb" });
    const title = svg("title", {});
    title.textContent = `${p.attempt_id}: ${p.s}s`;
    dot.append(title);
    box.append(dot);
  });
  const mean = points.reduce((a, p) => a + p.s, 0) / points.length;
  box.append(svg("line", { x1: left, x2: right, y1: y(mean), y2: y(mean), stroke: "#d97706", "stroke-dasharray": "4 3" }));
}

function render(stats) {
  const { campaign, counters, funnel } = stats;
  $("#name").textContent = `#${campaign.id} ${campaign.name}`;
  $("#state").textContent = label("campaign_state", campaign.state);
  $("#state").dataset.state = campaign.state;
  $("#state").className = `badge ${campaign.state}`;
  $("#pause").disabled = !["scheduling", "executing"].includes(campaign.state);
  $("#resume").disabled = campaign.state !== "paused";
  $("#cancel").disabled = ["succeeded", "cancelled", "failed"].includes(campaign.state);
  $("#flow-line").replaceChildren(t("dashboard.flow"), h("a", { href: `/console/flows/${encodeURIComponent(campaign.flow_id)}?version=${campaign.flow_version}` },
    `${campaign.flow_id} v${campaign.flow_version}`), t("dashboard.windows", { timezone: campaign.timezone, windows: campaign.windows.map((w) => `${w.start}–${w.end}`).join(", ") }));
  const pct = counters.total ? Math.round((100 * counters.done) / counters.total) : 0;
  $("#progress-fill").style.width = `${pct}%`;
  $("#progress-text").textContent = t("dashboard.progress", { done: counters.done, total: counters.total, pct });
  // data-stat stays the English name (a stable hook); the label is translated.
  const stat = (n, l) => h("div", { class: "stat", "data-stat": l }, h("div", { class: "n" }, n), h("div", { class: "l" }, t(`dashboard.stat_${l.replace(/ /g, "_")}`)));
  $("#counters").replaceChildren(stat(counters.total, "contacts"), stat(counters.pending, "pending"), stat(counters.dialling, "dialling"),
    stat(counters.in_call, "in call"), stat(counters.done, "done"), stat(`${counters.lines_in_use}/${campaign.concurrency}`, "lines in use"),
    stat(counters.attempts, "attempts"));
  bars("#funnel", funnel.map((s) => [s.stage, s.count]), funnel[0].count, () => "", (stage) => label("funnel", stage));
  const grades = Object.entries(counters.done_by_grade);
  bars("#grades", grades, grades.reduce((a, [, n]) => a + n, 0), (g) => `grade-${g}`);
  if (!grades.length) $("#grades").replaceChildren(h("p", { class: "muted" }, t("dashboard.no_grades")));
  $("#outcomes").textContent = Object.entries(counters.done_by_outcome).map(([o, n]) => `${label("outcome", o)}: ${n}`).join(" · ");
  $("#latency-basis").textContent = stats.latency.points.length ? t("dashboard.latency_basis", { basis: stats.latency.basis.split(" + ").map((b) => label("latency_basis", b)).join(" + ") }) : "";
  chart(stats.latency.points);
  $("#calls tbody").replaceChildren(...(stats.recent.length ? stats.recent.map((c) => h("tr", { "data-attempt": c.attempt_id },
    h("td", {}, h("a", { href: `/console/calls/${c.attempt_id}` }, fmtTime(c.end_at, campaign.timezone))),
    h("td", {}, c.reference_id), h("td", {}, c.phone),
    h("td", {}, h("span", { class: `badge ${c.outcome === "answered" ? "ok" : "warn"}`, "data-outcome": c.outcome }, label("outcome", c.outcome))),
    h("td", {}, c.grade ? h("b", {}, c.grade) : "—"), h("td", {}, c.rounds), h("td", {}, tags(c.tags))))
    : [h("tr", {}, h("td", { colspan: 7, class: "muted" }, t("dashboard.no_calls")))]));
  $("#live").textContent = t("dashboard.live", { time: fmtClock(new Date(), { timeZone: campaign.timezone }) });
  labelZones(campaign.timezone, "campaign");
}

async function poll() {
  clearTimeout(timer);
  try {
    if (!document.hidden) render(await api(`/console/api/campaigns/${id}/stats`));
  } catch (error) {
    showError("#page-error", error);
    if (error.status === 403 || error.status === 404) return;
  }
  timer = setTimeout(poll, 2000);
}

async function transition(action) {
  if (action === "cancel" && !confirm(t("dashboard.confirm_cancel"))) return;
  try {
    render({ ...(await api(`/console/api/campaigns/${id}/stats`)), campaign: await api(`/v1/campaigns/${id}/${action}`, { method: "POST" }) });
    toast(t({ cancel: "dashboard.cancelled", pause: "dashboard.paused", resume: "dashboard.resumed" }[action]));
    poll();
  } catch (error) {
    showError("#action-result", error);
  }
}

async function importCsv() {
  try {
    const result = await api(`/v1/campaigns/${id}/contacts`, { method: "POST", body: $("#csv").value, contentType: "text/csv" });
    const first = result.errors[0];
    // The row's reason in the page's language (its registry code), else as the server wrote it.
    const message = first && wordProblem(first.code, first.params, first.message);
    const firstError = first ? t("dashboard.first_error", { ...first, message }) : "";
    $("#import-result").textContent = t("dashboard.imported", result) + firstError;
    $("#csv").value = "";
    poll();
  } catch (error) {
    showError("#action-result", error);
  }
}

run(async () => {
  for (const action of ["pause", "resume", "cancel"]) $(`#${action}`).addEventListener("click", () => transition(action));
  $("#import").addEventListener("click", importCsv);
  wireExports(id, "#action-result");
  document.addEventListener("visibilitychange", () => !document.hidden && poll());
  await poll();
});
