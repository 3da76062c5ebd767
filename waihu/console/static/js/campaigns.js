// Campaigns: the list and the creation form (flow, windows, retries, concurrency, webhook).
import { $, api, clear, fillFlows, fillVersions, fmtTime, h, label, run, showError, showOk, t } from "./common.js";

const DAYS = t("campaigns.days").split(",");
const RETRY = { no_answer: [60, 2], busy: [30, 2], unavailable: [60, 1], failed: [10, 1], lost: [10, 1] };
let cursor = null;

function windowRow(start = "09:00", end = "20:00", days = [1, 2, 3, 4, 5, 6, 7]) {
  const row = h("div", { class: "win" },
    ...DAYS.map((name, i) => h("label", {}, h("input", { type: "checkbox", value: i + 1, checked: days.includes(i + 1) }), name)),
    h("input", { type: "time", class: "start", value: start, required: true }), "–",
    h("input", { type: "time", class: "end", value: end, required: true }),
    h("button", { type: "button", title: t("campaigns.remove_window"), onclick: () => row.remove() }, "×"));
  return row;
}

function windows() {
  return [...document.querySelectorAll("#windows .win")].map((row) => ({
    weekdays: [...row.querySelectorAll("input[type=checkbox]:checked")].map((c) => Number(c.value)),
    start: row.querySelector(".start").value,
    end: row.querySelector(".end").value === "00:00" ? "24:00" : row.querySelector(".end").value,
  }));
}

function retryPolicy() {
  const policy = {};
  for (const row of document.querySelectorAll("#retry tr[data-outcome]")) {
    policy[row.dataset.outcome] = {
      interval_s: Number(row.querySelector(".interval").value) * 60,
      max: Number(row.querySelector(".max").value),
    };
  }
  return policy;
}

async function list(more = false) {
  const query = new URLSearchParams({ limit: "50" });
  if ($("#state-filter").value) query.set("state", $("#state-filter").value);
  if (more && cursor) query.set("cursor", cursor);
  const page = await api(`/v1/campaigns?${query}`);
  cursor = page.next_cursor;
  $("#more").hidden = !cursor;
  const rows = page.items.map((c) => h("tr", { "data-campaign": c.id },
    h("td", {}, c.id),
    h("td", {}, h("a", { href: `/console/campaigns/${c.id}` }, c.name)),
    h("td", {}, h("code", {}, `${c.flow_id} v${c.flow_version}`)),
    h("td", {}, h("span", { class: `badge ${c.state}`, "data-state": c.state }, label("campaign_state", c.state))),
    h("td", {}, c.concurrency),
    h("td", { class: "small muted" }, fmtTime(c.created_at))));
  const body = $("#campaigns-table tbody");
  if (more) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("campaigns.none")))]));
}

async function create(event) {
  event.preventDefault();
  clear("#create-result");
  const body = {
    name: $("#name").value,
    flow_id: $("#flow").value,
    flow_version: Number($("#flow-version").value),
    timezone: $("#timezone").value,
    windows: windows(),
    max_attempts: Number($("#max-attempts").value),
    max_attempts_per_day: Number($("#max-per-day").value),
    retry_policy: retryPolicy(),
    concurrency: Number($("#concurrency").value),
    priority: Number($("#priority").value),
    caller_numbers: $("#callers").value.split(",").map((s) => s.trim()).filter(Boolean),
  };
  if ($("#webhook").value) body.webhook_url = $("#webhook").value;
  try {
    const campaign = await api("/v1/campaigns", { method: "POST", body });
    if (campaign.webhook_secret) {
      showOk("#create-result", t("campaigns.created", { id: campaign.id }),
        h("div", { class: "secret" }, campaign.webhook_secret), h("a", { href: `/console/campaigns/${campaign.id}` }, t("campaigns.open_dashboard")));
      await list();
    } else {
      location.href = `/console/campaigns/${campaign.id}`;
    }
  } catch (error) {
    showError("#create-result", error);
  }
}

run(async () => {
  $("#state-filter").addEventListener("change", () => list());
  $("#more").addEventListener("click", () => list(true));
  await list();
  $("#windows").append(windowRow("09:00", "12:00"), windowRow("14:00", "20:00"));
  $("#add-window").addEventListener("click", () => $("#windows").append(windowRow()));
  $("#retry tbody").replaceChildren(...Object.entries(RETRY).map(([outcome, [minutes, max]]) => h("tr", { "data-outcome": outcome },
    h("td", {}, label("outcome", outcome)),
    h("td", {}, h("input", { class: "interval", type: "number", min: 1, value: minutes, style: "width:80px" }), t("campaigns.minutes")),
    h("td", {}, h("input", { class: "max", type: "number", min: 0, max: 20, value: max, style: "width:60px" }), " ×"))));
  const flows = await fillFlows($("#flow"));
  if (flows.length) await fillVersions($("#flow-version"), $("#flow").value);
  $("#flow").addEventListener("change", () => fillVersions($("#flow-version"), $("#flow").value));
  $("#create-form").addEventListener("submit", create);
});
