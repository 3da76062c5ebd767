// The block list: add, look up, remove numbers that must never be dialled.
import { $, api, clear, fmtTime, h, run, showError, showOk } from "./common.js";

let cursor = null;

async function list(more = false, phone = "") {
  const query = new URLSearchParams({ limit: "100" });
  if (phone) query.set("phone", phone);
  if (more && cursor) query.set("cursor", cursor);
  const page = await api(`/v1/dnc?${query}`);
  cursor = page.next_cursor;
  $("#more").hidden = !cursor;
  const rows = page.items.map((row) => h("tr", { "data-phone": row.phone },
    h("td", {}, h("code", {}, row.phone)), h("td", {}, row.reason), h("td", { class: "small" }, row.source),
    h("td", { class: "small muted" }, fmtTime(row.created_at)),
    h("td", {}, h("button", { type: "button", class: "danger", onclick: () => remove(row.phone) }, "Remove"))));
  const body = $("#dnc-table tbody");
  if (more) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, phone ? "Not on the list." : "The list is empty."))]));
}

async function remove(phone) {
  if (!confirm(`Allow calls to ${phone} again?`)) return;
  try {
    await api(`/v1/dnc/${encodeURIComponent(phone)}`, { method: "DELETE" });
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
      showOk("#add-result", `${row.phone} is blocked.`);
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
