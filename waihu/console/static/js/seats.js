// Seats: operators switch availability; admins register seats.
import { $, api, clear, fmtTime, h, run, showError, showOk, t } from "./common.js";

async function list() {
  const { items } = await api("/v1/seats");
  $("#seats-table tbody").replaceChildren(...(items.length ? items.map((seat) => h("tr", { "data-seat": seat.uri },
    h("td", {}, seat.id), h("td", {}, h("code", {}, seat.uri)), h("td", {}, seat.name), h("td", {}, seat.skill_group),
    h("td", {}, h("label", { class: "switch" }, h("input", {
      type: "checkbox", checked: seat.available,
      onchange: (event) => setAvailable(seat.id, event.target.checked),
    }), seat.available ? t("seats.available") : t("seats.away"))),
    h("td", { class: "small muted" }, fmtTime(seat.updated_at))))
    : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("seats.none")))]));
}

async function setAvailable(id, available) {
  try {
    await api(`/v1/seats/${id}`, { method: "PATCH", body: { available } });
    await list();
  } catch (error) {
    showError("#page-error", error);
  }
}

run(async () => {
  $("#seat-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clear("#seat-result");
    try {
      const seat = await api("/v1/seats", { method: "POST", body: {
        uri: $("#uri").value, name: $("#seat-name").value, skill_group: $("#group").value, available: $("#available").checked,
      } });
      showOk("#seat-result", t("seats.registered", { uri: seat.uri }));
      await list();
    } catch (error) {
      showError("#seat-result", error);
    }
  });
  await list();
});
