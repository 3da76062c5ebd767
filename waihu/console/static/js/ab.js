// A campaign's A/B comparison (AB分流): per-variant numbers, the significance verdict, weight shifting.
import { $, api, data, h, lang, run, showError, t, toast } from "./common.js";

const id = data.campaignId;
const percent = (rate) => `${(100 * rate).toFixed(1)}%`;

function conversionQuery() {
  const tag = $("#conversion-tag").value.trim();
  return $("#conversion").value === "tag" && tag ? `?conversion_tag=${encodeURIComponent(tag)}` : "";
}

function render(report, variants) {
  const specs = Object.fromEntries(variants.map((v) => [v.name, v]));
  const rows = report.variants.map((row) => {
    const spec = specs[row.variant] || {};
    const grades = Object.entries(row.grades).map(([g, n]) => `${g}:${n}`).join(" ") || "—";
    return h("tr", { "data-variant": row.variant },
      h("td", {}, h("b", {}, row.variant), report.winner === row.variant ? h("span", { class: "badge ok" }, t("ab.winner")) : ""),
      h("td", {}, spec.flow_id ? `${spec.flow_id} v${spec.flow_version}` : "—"),
      h("td", {}, spec.voice || t("ab.default_voice")),
      h("td", {}, h("input", { type: "number", min: "0", step: "any", class: "weight", "data-variant": row.variant,
        value: String(row.weight ?? 0), style: "width:6em", "aria-label": t("ab.weight_label", { variant: row.variant }) })),
      h("td", { class: "contacts" }, row.contacts), h("td", {}, row.called),
      h("td", { class: "answer-rate" }, percent(row.answer_rate)), h("td", {}, t("ab.seconds", { seconds: row.avg_talk_s })),
      h("td", {}, grades), h("td", {}, row.converted), h("td", { class: "conversion-rate" }, percent(row.conversion_rate)));
  });
  $("#variants-table tbody").replaceChildren(...(rows.length ? rows
    : [h("tr", {}, h("td", { colspan: 11, class: "muted" }, t("ab.no_variants", { campaign_id: id })))]));
  $("#save-weights").disabled = !rows.length;
  const test = report.test;
  $("#verdict").className = `alert ${report.winner ? "ok" : "forbidden"}`;
  // The service words its verdict in both languages.
  $("#verdict").textContent = (lang === "en" ? report.verdict : report.verdict_zh) || t("ab.need_two");
  const name = test.name === "two-proportion z" ? t("ab.test_z") : t("ab.test_chi2");
  $("#test-line").textContent = t("ab.test_line", {
    name, statistic: test.statistic, df: test.df, p_value: Number(test.p_value).toPrecision(3), alpha: test.alpha,
  }) + (report.conversion.tag ? t("ab.conversion_is_tag", { tag: report.conversion.tag }) : t("ab.conversion_is_grade"));
}

async function load() {
  try {
    const [report, variants] = await Promise.all([
      api(`/v1/campaigns/${id}/variants/comparison${conversionQuery()}`),
      api(`/v1/campaigns/${id}/variants`),
    ]);
    render(report, variants.variants);
  } catch (error) {
    showError("#page-error", error);
  }
}

async function saveWeights() {
  const weights = Object.fromEntries([...document.querySelectorAll("input.weight")].map((input) => [input.dataset.variant, Number(input.value)]));
  try {
    await api(`/v1/campaigns/${id}/variants`, { method: "PATCH", body: { weights } });
    $("#action-result").replaceChildren();
    toast(t("ab.saved"));
    await load();
  } catch (error) {
    showError("#action-result", error);
  }
}

run(async () => {
  $("#conversion").addEventListener("change", () => { $("#conversion-tag").hidden = $("#conversion").value !== "tag"; });
  $("#conversion-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("#save-weights").addEventListener("click", saveWeights);
  $("#campaign-name").textContent = t("ab.campaign", { id });
  await load();
});
