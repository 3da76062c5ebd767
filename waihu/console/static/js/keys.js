// API keys (admins): create (the secret is shown once) and revoke.
import { $, api, clear, fmtTime, h, run, showError, showOk } from "./common.js";

async function list() {
  const { items } = await api("/v1/keys");
  $("#keys-table tbody").replaceChildren(...items.map((key) => h("tr", { "data-key": key.id },
    h("td", {}, h("code", {}, key.id)), h("td", {}, key.name), h("td", {}, h("span", { class: "badge" }, key.role)),
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
  $("#key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clear("#key-result");
    try {
      const created = await api("/v1/keys", { method: "POST", body: { name: $("#key-name").value, role: $("#role").value } });
      showOk("#key-result", `Key for ${created.name} (${created.role}). Copy it now — it is not shown again:`, h("div", { class: "secret", id: "new-key" }, created.key));
      await list();
    } catch (error) {
      showError("#key-result", error);
    }
  });
  await list();
});
