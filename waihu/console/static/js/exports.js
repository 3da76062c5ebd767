// Results exports from the console: fetch with the stored key (a plain link cannot send it), then save.
import { api, showError, t, toast } from "./common.js";

/** Download the results of campaign `id` as `kind` ("csv" or "jsonl"); errors go to `errorTarget`. */
export async function downloadResults(id, kind, errorTarget) {
  try {
    const response = await api(`/v1/exports/results.${kind}?campaign_id=${encodeURIComponent(id)}`, { raw: true });
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || `results-campaign-${id}.${kind}`;
    const url = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement("a"), { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    toast(t("exports.done", { name }));
  } catch (error) {
    showError(errorTarget, error);
  }
}

/** Wire the buttons `#export-csv` and `#export-jsonl` of a campaign page. */
export function wireExports(id, errorTarget) {
  for (const kind of ["csv", "jsonl"]) {
    document.querySelector(`#export-${kind}`)?.addEventListener("click", () => downloadResults(id, kind, errorTarget));
  }
}
