// API keys (admins): create (the secret is shown once) and revoke, within the admin's tenant;
// a platform admin sees every tenant's keys and may create keys in any tenant.
import { $, api, clear, fmtTime, h, label, run, showError, showOk, t, who } from "./common.js";

async function list() {
  const { items } = await api("/v1/keys");
  $("#keys-table tbody").replaceChildren(...items.map((key) => h("tr", { "data-key": key.id },
    h("td", {}, h("code", {}, key.id)), h("td", {}, key.name),
    h("td", {}, h("span", { class: "badge", "data-role": key.role }, label("role", key.role)), key.platform_admin ? h("span", { class: "badge warn" }, t("keys.platform")) : ""),
    h("td", { class: "small" }, key.tenant),
    h("td", { class: "small muted" }, fmtTime(key.created_at)), h("td", { class: "small muted" }, fmtTime(key.last_used_at)),
    h("td", {}, key.revoked_at ? h("span", { class: "badge bad" }, t("keys.revoked")) : h("span", { class: "badge ok" }, t("keys.active"))),
    h("td", {}, key.revoked_at ? "" : h("button", { type: "button", class: "danger", onclick: () => revoke(key) }, t("keys.revoke"))))));
}

async function revoke(key) {
  if (!confirm(t("keys.confirm_revoke", { name: key.name, id: key.id }))) return;
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
      showOk("#key-result", t("keys.created", { name: created.name, role: label("role", created.role) }), h("div", { class: "secret", id: "new-key" }, created.key));
      await list();
    } catch (error) {
      showError("#key-result", error);
    }
  });
  await list();
});
