// API keys (admins): create (the secret is shown once) and revoke, within the admin's tenant;
// a platform admin sees every tenant's keys and may create keys in any tenant.
import { $, api, clear, fmtTime, h, run, showError, showOk, who } from "./common.js";

async function list() {
  const { items } = await api("/v1/keys");
  $("#keys-table tbody").replaceChildren(...items.map((key) => h("tr", { "data-key": key.id },
    h("td", {}, h("code", {}, key.id)), h("td", {}, key.name),
    h("td", {}, h("span", { class: "badge" }, key.role), key.platform_admin ? h("span", { class: "badge warn" }, "platform") : ""),
    h("td", { class: "small" }, key.tenant),
    h("td", { class: "small muted" }, fmtTime(key.created_at)), h("td", { class: "small muted" }, fmtTime(key.last_used_at)),
    h("td", {}, key.revoked_at ? h("span", { class: "badge bad" }, "revoked") : h("span", { class: "badge ok" }, "active")),
    h("td", {}, key.revoked_at ? "" : h("button", { type: "button", class: "danger", onclick: () => revoke(key) }, "Revoke")))));
}

async function revoke(key) {
  if (!confirm(`Revoke ${key.name} (${key.id})? Requests with it will be refused at once.`)) return;
  try {
    await api(`/v1/keys/${key.id}`, { method: "DELETE" });
    await list();
  } catch (error) {
    showError("#page-error", error);
  }
}

run(async () => {
  $("#tenant-field").hidden = who()?.platform_admin !== true;
  $("#key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clear("#key-result");
    try {
      const body = { name: $("#key-name").value, role: $("#role").value };
      if ($("#tenant").value.trim()) body.tenant = $("#tenant").value.trim();
      const created = await api("/v1/keys", { method: "POST", body });
      showOk("#key-result", `Key for ${created.name} (${created.role}). Copy it now — it is not shown again:`, h("div", { class: "secret", id: "new-key" }, created.key));
      await list();
    } catch (error) {
      showError("#key-result", error);
    }
  });
  await list();
});
