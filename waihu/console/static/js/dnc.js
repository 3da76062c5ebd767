// The block list: add, look up, remove numbers that must never be dialled.
// Removing an entry is for admins; the global list (every tenant) for platform admins.
// Operators see numbers masked (138****1234), as the API gives them.
import { $, api, clear, fmtTime, h, label, run, showError, showOk, t, who } from "./common.js";

let cursor = null;

async function list(more = false, phone = "") {
  const query = new URLSearchParams({ limit: "100" });
  if (phone) query.set("phone", phone);
  if (more && cursor) query.set("cursor", cursor);
  const page = await api(`/v1/dnc?${query}`);
  cursor = page.next_cursor;
  $("#more").hidden = !cursor;
  const rows = page.items.map((row) => h("tr", { "data-phone": row.phone },
    h("td", {}, h("code", {}, row.phone)), h("td", {}, row.reason),
    h("td", { class: "small", "data-source": row.source }, label("dnc_source", row.source), row.scope === "global" ? h("span", { class: "badge warn" }, t("dnc.global")) : ""),
    h("td", { class: "small muted" }, fmtTime(row.created_at)),
    h("td", {}, canRemove(row) ? h("button", { type: "button", class: "danger", onclick: () => remove(row) }, t("dnc.remove")) : "")));
  const body = $("#dnc-table tbody");
  if (more) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, phone ? t("dnc.not_listed") : t("dnc.empty")))]));
}

function canRemove(row) {
  const me = who();
  return me?.role === "admin" && (row.scope !== "global" || me.platform_admin === true);
}

async function remove(row) {
  if (!confirm(t("dnc.confirm_remove", { phone: row.phone }))) return;
  try {
    await api(`/v1/dnc/${encodeURIComponent(row.phone)}?scope=${row.scope === "global" ? "global" : "tenant"}`, { method: "DELETE" });
    await list();
  } catch (error) {
    showError("#page-error", error);
  }
}

run(async () => {
  $("#add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clear("#add-result");
    try {
      const row = await api("/v1/dnc", { method: "POST", body: { phone: $("#phone").value, reason: $("#reason").value, source: "console" } });
      showOk("#add-result", t("dnc.blocked", { phone: row.phone }));
      $("#phone").value = "";
      await list();
    } catch (error) {
      showError("#add-result", error);
    }
  });
  $("#lookup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    list(false, $("#lookup").value).catch((e) => showError("#page-error", e));
  });
  $("#clear").addEventListener("click", () => list());
  $("#more").addEventListener("click", () => list(true));
  await list();
});
