// One call: recording, the node × intent trace, result, manual re-grade, SIP details.
import { $, api, clear, data, fmtTime, h, label, run, showError, showOk, t, tags } from "./common.js";
import { zoneLabel } from "./time.js";

const attemptId = data.attemptId;

/** Label/value rows; `key` (English) stays the row's data-key hook, the label is translated. */
function kv(target, pairs) {
  const word = (key) => t(`call.f_${key.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`);
  $(target).replaceChildren(...pairs.flatMap(([key, value]) => [h("dt", {}, word(key)), h("dd", { "data-key": key }, value ?? "—")]));
}

async function recording(result) {
  if (!result.recording_path) {
    $("#recording").replaceChildren(h("span", { class: "muted" }, t("call.no_recording")));
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
  if (turn.kind === "no_input") return h("span", { class: "muted" }, t("call.silence"));
  if (turn.kind === "dtmf") return h("span", { class: "muted" }, t("call.key", { key: turn.utterance || "" }));
  return turn.utterance;
}

async function contactGrade(result, timeZone) {
  const contact = await api(`/v1/campaigns/${result.campaign_id}/contacts/${encodeURIComponent(result.reference_id)}`);
  $("#contact-grade").replaceChildren(t("call.contact_grade", { ref: contact.reference_id }), h("b", { id: "current-grade" }, contact.grade ?? "—"),
    contact.grade_label ? ` (${contact.grade_label})` : "", contact.regraded_at ? t("call.regraded_at", { time: fmtTime(contact.regraded_at, timeZone) }) : "");
  if (contact.grade) $("#new-grade").value = contact.grade;
}

run(async () => {
  $("#attempt").textContent = attemptId;
  const result = await api(`/v1/results/${attemptId}`);
  $("#to-campaign").href = `/console/campaigns/${result.campaign_id}`;
  // Times in the campaign's time zone (where the callee lives), not the browser's.
  const timeZone = (await api(`/v1/campaigns/${result.campaign_id}`)).timezone;
  kv("#summary", [
    ["Contact", result.reference_id], ["Phone", result.phone],
    ["Flow", h("a", { href: `/console/flows/${encodeURIComponent(result.flow_id)}?version=${result.flow_version}` }, `${result.flow_id} v${result.flow_version}`)],
    ["Attempt", `#${result.attempt_number}${result.is_retry ? t("call.retry") : ""}`],
    ["Outcome", h("span", { class: `badge ${result.outcome === "answered" ? "ok" : "warn"}`, "data-outcome": result.outcome }, label("outcome", result.outcome))],
    ["Grade", result.grade ? h("b", { id: "call-grade" }, `${result.grade}${result.grade_label ? ` · ${result.grade_label}` : ""}`) : "—"],
    ["Tags", h("span", {}, tags(result.tags))], ["KB hits", result.kb_hits.join(", ") || "—"],
    ["Rounds", result.rounds], ["Duration", `${result.duration_s}s`],
  ]);
  kv("#sip", [
    ["SIP code", result.sip_code], ["SIP reason", result.sip_reason], ["Caller number", result.caller_number],
    ["Hung up by", result.hangup_by && h("span", { "data-hangup-by": result.hangup_by }, label("hangup_by", result.hangup_by))], ["Hang-up reason", result.hangup_reason],
    ["Started", fmtTime(result.started_at, timeZone)], ["Ringing", fmtTime(result.ring_at, timeZone)],
    ["Answered", fmtTime(result.answer_at, timeZone)], ["Ended", fmtTime(result.end_at, timeZone)], ["Time zone", zoneLabel(timeZone)],
    ["Ring time", result.ring_s != null ? `${result.ring_s}s` : null],
  ]);
  const turns = result.transcript || [];
  $("#transcript tbody").replaceChildren(...(turns.length ? turns.map((turn) => h("tr", {},
    h("td", {}, turn.index), h("td", {}, h("code", {}, turn.node)), h("td", {}, callee(turn)),
    h("td", {}, h("code", {}, turn.intent), h("span", { class: "small muted" }, ` ${Number(turn.confidence).toFixed(2)}`)),
    h("td", { class: "small", "data-source": turn.source }, label("turn_source", turn.source)), h("td", {}, turn.reply), h("td", {}, turn.next_node ? h("code", {}, turn.next_node) : turn.step || ""),
    h("td", { class: "small muted" }, turn.latency_ms != null ? `${Math.round(turn.latency_ms)} ms` : "")))
    : [h("tr", {}, h("td", { colspan: 8, class: "muted" }, t("call.not_answered")))]));
  recording(result);
  await contactGrade(result, timeZone);
  $("#grade-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clear("#grade-result");
    try {
      const contact = await api(`/v1/campaigns/${result.campaign_id}/contacts/${encodeURIComponent(result.reference_id)}/grade`, {
        method: "POST", body: { grade: $("#new-grade").value, label: $("#grade-label").value, note: $("#grade-note").value },
      });
      showOk("#grade-result", t("call.regraded", { grade: contact.grade }));
      await contactGrade(result, timeZone);
    } catch (error) {
      showError("#grade-result", error);
    }
  });
});
