// A campaign's A/B comparison (AB分流): per-variant numbers, the significance verdict, weight shifting.
import { $, api, data, h, run, showError, toast } from "./common.js";

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
      h("td", {}, h("b", {}, row.variant), report.winner === row.variant ? h("span", { class: "badge ok" }, " 胜出") : ""),
      h("td", {}, spec.flow_id ? `${spec.flow_id} v${spec.flow_version}` : "—"),
      h("td", {}, spec.voice || "默认"),
      h("td", {}, h("input", { type: "number", min: "0", step: "any", class: "weight", "data-variant": row.variant,
        value: String(row.weight ?? 0), style: "width:6em", "aria-label": `版本 ${row.variant} 的权重` })),
      h("td", { class: "contacts" }, row.contacts), h("td", {}, row.called),
      h("td", { class: "answer-rate" }, percent(row.answer_rate)), h("td", {}, `${row.avg_talk_s} 秒`),
      h("td", {}, grades), h("td", {}, row.converted), h("td", { class: "conversion-rate" }, percent(row.conversion_rate)));
  });
  $("#variants-table tbody").replaceChildren(...(rows.length ? rows
    : [h("tr", {}, h("td", { colspan: 11, class: "muted" }, "该活动未设置 AB 分流版本（PUT /v1/campaigns/{id}/variants）。"))]));
  $("#save-weights").disabled = !rows.length;
  const test = report.test;
  $("#verdict").className = `alert ${report.winner ? "ok" : "forbidden"}`;
  $("#verdict").textContent = report.verdict_zh || "至少需要两个版本才能比较。";
  const name = test.name === "two-proportion z" ? "双比例 z 检验" : "卡方检验";
  $("#test-line").textContent = `${name}：统计量 ${test.statistic}，自由度 ${test.df}，p 值 ${Number(test.p_value).toPrecision(3)}，显著性水平 ${test.alpha}` +
    (report.conversion.tag ? `；转化 = 含标签「${report.conversion.tag}」` : "；转化 = 评级 A");
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
    toast("权重已保存");
    await load();
  } catch (error) {
    showError("#action-result", error);
  }
}

run(async () => {
  $("#conversion").addEventListener("change", () => { $("#conversion-tag").hidden = $("#conversion").value !== "tag"; });
  $("#conversion-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("#save-weights").addEventListener("click", saveWeights);
  $("#campaign-name").textContent = `· 活动 #${id}`;
  await load();
});
