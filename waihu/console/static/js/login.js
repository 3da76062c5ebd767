import { $, api, param, saveLogin, showError, t } from "./common.js";

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("#key").value.trim();
  try {
    const identity = await api("/console/api/whoami", { key });
    saveLogin(key, identity);
    const next = param("next");
    location.href = next && next.startsWith("/console/") ? next : "/console/flows";
  } catch (error) {
    showError("#login-error", error.status === 401 ? new Error(t("login.invalid")) : error);
  }
});
$("#key").focus();
