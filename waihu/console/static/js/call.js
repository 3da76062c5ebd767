// One call: recording, the node × intent trace, result, manual re-grade, SIP details.
import { $, api, clear, data, fmtTime, h, run, showError, showOk, tags } from "./common.js";

const attemptId = data.attemptId;

function kv(target, pairs) {
  $(target).replaceChildren(...pairs.flatMap(([key, value]) => [h("dt", {}, key), h("dd", { "data-key": key }, value ?? "—")]));
}

async function recording(result) {
  if (!result.recording_path) {
    $("#recording").replaceChildren(h("span", { class: "muted" }, "No recording for this call."));
    return;
  }
  try {
    const response = await api(`/console/api/attempts/${attemptId}/recording`, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    $("#recording").replaceChildren(h("audio", { controls: true, src: url, id: "recording-audio", style: "width:100%" }),
      h("div", { class: "small muted" }, result.recording_path.split("/").pop()));
  } catch (error) {
    showError("#recording", error);
  }
}

function callee(turn) {
  if (turn.kind === "no_input") return h("span", { class: "muted" }, "(silence)");
  if (turn.kind === "dtmf") return h("span", { class: "muted" }, `(key ${turn.utterance || ""})`);
  return turn.utterance;
}

async function contactGrade(result) {
  const contact = await api(`/v1/campaigns/${result.campaign_id}/contacts/${encodeURIComponent(result.reference_id)}`);
  $("#contact-grade").replaceChildren(`Contact ${contact.reference_id}: grade `, h("b", { id: "current-grade" }, contact.grade ?? "—"),
    contact.grade_label ? ` (${contact.grade_label})` : "", contact.regraded_at ? ` · re-graded ${fmtTime(contact.regraded_at)}` : "");
  if (contact.grade) $("#new-grade").value = contact.grade;
}

run(async () => {
  $("#attempt").textContent = attemptId;
  const result = await api(`/v1/results/${attemptId}`);
  $("#to-campaign").href = `/console/campaigns/${result.campaign_id}`;
  kv("#summary", [
    ["Contact", result.reference_id], ["Phone", result.phone],
    ["Flow", h("a", { href: `/console/flows/${encodeURIComponent(result.flow_id)}?version=${result.flow_version}` }, `${result.flow_id} v${result.flow_version}`)],
    ["Attempt", `#${result.attempt_number}${result.is_retry ? " (retry)" : ""}`],
    ["Outcome", h("span", { class: `badge ${result.outcome === "answered" ? "ok" : "warn"}` }, result.outcome)],
    ["Grade", result.grade ? h("b", { id: "call-grade" }, `${result.grade}${result.grade_label ? ` · ${result.grade_label}` : ""}`) : "—"],
    ["Tags", h("span", {}, tags(result.tags))], ["KB hits", result.kb_hits.join(", ") || "—"],
    ["Rounds", result.rounds], ["Duration", `${result.duration_s}s`],
  ]);
  kv("#sip", [
    ["SIP code", result.sip_code], ["SIP reason", result.sip_reason], ["Caller number", result.caller_number],
    ["Hung up by", result.hangup_by], ["Hang-up reason", result.hangup_reason],
    ["Started", fmtTime(result.started_at)], ["Ringing", fmtTime(result.ring_at)], ["Answered", fmtTime(result.answer_at)],
    ["Ended", fmtTime(result.end_at)], ["Ring time", result.ring_s != null ? `${result.ring_s}s` : null],
  ]);
  const turns = result.transcript || [];
  $("#transcript tbody").replaceChildren(...(turns.length ? turns.map((t) => h("tr", {},
    h("td", {}, t.index), h("td", {}, h("code", {}, t.node)), h("td", {}, callee(t)),
    h("td", {}, h("code", {}, t.intent), h("span", { class: "small muted" }, ` ${Number(t.confidence).toFixed(2)}`)),
    h("td", { class: "small" }, t.source), h("td", {}, t.reply), h("td", {}, t.next_node ? h("code", {}, t.next_node) : t.step || ""),
    h("td", { class: "small muted" }, t.latency_ms != null ? `${Math.round(t.latency_ms)} ms` : "")))
    : [h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No conversation (the call was not answered)."))]));
  recording(result);
  await contactGrade(result);
  $("#grade-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clear("#grade-result");
    try {
      const contact = await api(`/v1/campaigns/${result.campaign_id}/contacts/${encodeURIComponent(result.reference_id)}/grade`, {
        method: "POST", body: { grade: $("#new-grade").value, label: $("#grade-label").value, note: $("#grade-note").value },
      });
      showOk("#grade-result", `Re-graded to ${contact.grade}.`);
      await contactGrade(result);
    } catch (error) {
      showError("#grade-result", error);
    }
  });
});
