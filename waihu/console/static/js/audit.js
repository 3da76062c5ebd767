// The audit log (admins): who changed what and when, newest first, with filters and paging.
import { $, api, fmtTime, h, run, showError } from "./common.js";

let cursor = null;

const ACTIONS = {
  "flow.upload": "上传流程",
  "campaign.create": "创建活动",
  "campaign.pause": "暂停活动",
  "campaign.resume": "恢复活动",
  "campaign.cancel": "取消活动",
  "contacts.import": "导入联系人",
  "contact.regrade": "人工评级",
  "dnc.add": "加入拦截名单",
  "dnc.remove": "移出拦截名单",
  "key.create": "创建密钥",
  "key.revoke": "吊销密钥",
  "seat.register": "登记坐席",
  "seat.update": "修改坐席",
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
  if (since) query.set("since", new Date(since).toISOString());
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
    h("td", {}, h("span", { class: "badge" }, entry.actor.role)),
    h("td", { class: "small" }, entry.tenant ?? "全局"),
    h("td", {}, ACTIONS[entry.action] || entry.action, h("div", { class: "small muted" }, h("code", {}, entry.action))),
    h("td", { class: "small" }, `${entry.resource_type} ${entry.resource_id}`),
    h("td", {}, json(entry.before)),
    h("td", {}, json(entry.after))));
  const body = $("#audit-table tbody");
  if (more) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 8, class: "muted" }, "没有记录。"))]));
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
