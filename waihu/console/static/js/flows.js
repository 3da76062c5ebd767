import { $, api, fmtTime, h, run, showError, showOk, t } from "./common.js";
import { describeFlowError } from "./flow_problems.js";

async function upload(event) {
  const saved = [];
  for (const file of event.target.files) {
    try {
      const form = new FormData();
      form.append("file", file); // keeps the file name, so problems read bad.yaml:LINE:COL
      const stored = await api("/v1/flows", { method: "POST", body: form });
      const recorded = stored.recordings?.length ? t("flows.recordings", { count: stored.recordings.length }) : "";
      saved.push(`${stored.flow_id} v${stored.version}${recorded}`);
    } catch (error) {
      showError("#upload-result", new Error(`${file.name}: ${describeFlowError(error)}`));
      return;
    }
  }
  showOk("#upload-result", t("flows.uploaded", { list: saved.join(", ") }));
  await list();
}

run(async () => {
  $("#upload").addEventListener("change", upload);
  await list();
});

async function list() {
  const flows = (await api("/v1/flows")).items;
  const body = $("#flows-table tbody");
  if (!flows.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("flows.none"))));
    return;
  }
  body.replaceChildren(...flows.map((f) => {
    const id = encodeURIComponent(f.flow_id);
    return h("tr", { "data-flow": f.flow_id },
      h("td", {}, h("a", { href: `/console/flows/${id}` }, h("code", {}, f.flow_id))),
      h("td", {}, f.name),
      h("td", {}, f.language),
      h("td", {}, `v${f.version}`),
      h("td", { class: "small muted" }, fmtTime(f.created_at)),
      h("td", {},
        h("a", { href: `/console/flows/${id}` }, t("flows.edit")), " · ",
        h("a", { href: `/console/flows/${id}/table` }, t("flows.answer_table")), " · ",
        h("a", { href: `/console/simulator?flow=${id}` }, t("flows.simulator")), " · ",
        h("a", { href: `/console/kb?flow=${id}` }, t("flows.kb"))));
  }));
}
