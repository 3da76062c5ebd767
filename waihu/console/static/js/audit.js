// The audit log (admins): who changed what and when, newest first, with filters and paging.
import { $, api, fmtTime, h, label, run, showError, t } from "./common.js";
import { DISPLAY_ZONE, wallToIso } from "./time.js";

let cursor = null;

// What each audited action is called on the page; an action not listed shows its code.
const ACTIONS = {
  "flow.upload": t("audit.act_flow_upload"),
  "flow.inbox_add": t("audit.act_flow_inbox_add"),
  "campaign.create": t("audit.act_campaign_create"),
  "campaign.update": t("audit.act_campaign_update"),
  "campaign.pause": t("audit.act_campaign_pause"),
  "campaign.resume": t("audit.act_campaign_resume"),
  "campaign.cancel": t("audit.act_campaign_cancel"),
  "campaign.variants": t("audit.act_campaign_variants"),
  "campaign.weights": t("audit.act_campaign_weights"),
  "campaign.post_call": t("audit.act_campaign_post_call"),
  "campaign.post_call_remove": t("audit.act_campaign_post_call_remove"),
  "campaign.retention": t("audit.act_campaign_retention"),
  "contacts.import": t("audit.act_contacts_import"),
  "contact.regrade": t("audit.act_contact_regrade"),
  "contact.cancel": t("audit.act_contact_cancel"),
  "contact.erase": t("audit.act_contact_erase"),
  "dnc.add": t("audit.act_dnc_add"),
  "dnc.remove": t("audit.act_dnc_remove"),
  "key.create": t("audit.act_key_create"),
  "key.revoke": t("audit.act_key_revoke"),
  "seat.register": t("audit.act_seat_register"),
  "seat.update": t("audit.act_seat_update"),
  "trunk.put": t("audit.act_trunk_put"),
  "holiday_calendar.put": t("audit.act_holiday_put"),
  "holiday_calendar.delete": t("audit.act_holiday_delete"),
};

function json(value) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "—");
  return h("pre", { class: "small audit-json" }, JSON.stringify(value, null, 1));
}

function filters() {
  const query = new URLSearchParams({ limit: "50" });
  const action = $("#f-action").value.trim();
  const resource = $("#f-resource").value;
  const since = $("#f-since").value;
  if (action) query.set("action", action);
  if (resource) query.set("resource", resource);
  if (since) query.set("since", wallToIso(since, DISPLAY_ZONE)); // typed in the display zone, as the label says
  return query;
}

async function list(more = false) {
  const query = filters();
  if (more && cursor) query.set("cursor", cursor);
  const page = await api(`/v1/audit?${query}`);
  cursor = page.next_cursor;
  $("#more").hidden = !cursor;
  const rows = page.items.map((entry) => h("tr", { "data-entry": entry.id, "data-action": entry.action },
    h("td", { class: "small" }, fmtTime(entry.at)),
    h("td", {}, entry.actor.name, h("div", { class: "small muted" }, entry.actor.key_id || "CLI")),
    h("td", {}, h("span", { class: "badge", "data-role": entry.actor.role }, label("role", entry.actor.role))),
    h("td", { class: "small" }, entry.tenant ?? t("audit.global")),
    h("td", {}, ACTIONS[entry.action] || entry.action, h("div", { class: "small muted" }, h("code", {}, entry.action))),
    h("td", { class: "small" }, `${entry.resource_type} ${entry.resource_id}`),
    h("td", {}, json(entry.before)),
    h("td", {}, json(entry.after))));
  const body = $("#audit-table tbody");
  if (more) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("audit.none")))]));
}

run(async () => {
  $("#audit-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    list().catch((error) => showError("#page-error", error));
  });
  $("#f-reset").addEventListener("click", () => {
    $("#audit-filter").reset();
    list().catch((error) => showError("#page-error", error));
  });
  $("#more").addEventListener("click", () => list(true).catch((error) => showError("#page-error", error)));
  await list();
});
