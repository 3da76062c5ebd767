// The big screen (大屏): snapshots pushed by the server (text/event-stream), read with fetch so the
// API key travels in the Authorization header like every other call; reconnects when the stream ends.
import { $, api, ApiError, h, run, showError, t } from "./common.js";
import { fmtClock } from "./time.js";

const NS = "http://www.w3.org/2000/svg";
const RETRY_MS = 3000;

function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function tile(stat, value, { na = false, unit = "" } = {}) {
  const n = $(`[data-stat="${stat}"] .n`);
  n.replaceChildren(String(value), unit ? h("small", {}, unit) : "");
  n.classList.toggle("na", na);
}

function hhmm(iso) {
  return fmtClock(iso, { seconds: false }); // the display zone, named next to the clock
}

function chart(minutes) {
  const box = $("#cpm-chart");
  const max = Math.max(1, ...minutes.map((m) => m.count));
  const left = 40, right = 890, top = 30, bottom = 220;
  const step = (right - left) / minutes.length;
  const parts = [svg("line", { x1: left, x2: right, y1: bottom, y2: bottom, stroke: "#334155" })];
  minutes.forEach((m, i) => {
    const height = ((bottom - top) * m.count) / max;
    const x = left + i * step + step * 0.15;
    parts.push(svg("rect", { x, y: bottom - height, width: step * 0.7, height, rx: 4, fill: "#60a5fa", "data-count": m.count }));
    if (m.count) parts.push(svg("text", { x: x + step * 0.35, y: bottom - height - 8, "text-anchor": "middle", fill: "#e5e7eb", "font-size": 22 }, m.count));
    if (i % 3 === 0 || i === minutes.length - 1) {
      parts.push(svg("text", { x: x + step * 0.35, y: bottom + 28, "text-anchor": "middle", fill: "#94a3b8", "font-size": 18 }, hhmm(m.minute)));
    }
  });
  box.replaceChildren(...parts);
}

function toplist(target, items, empty) {
  $(target).replaceChildren(...(items.length
    ? items.map((item) => h("li", { "data-name": item.name }, h("span", {}, item.name), h("b", {}, item.count)))
    : [h("li", { class: "empty" }, empty)]));
}

function render(snap) {
  tile("in_progress", snap.in_progress);
  const total = snap.calls_per_minute.reduce((a, m) => a + m.count, 0);
  tile("cpm", (total / (snap.calls_per_minute.length || 1)).toFixed(1));
  tile("answer_rate", snap.answer_rate === null ? "–" : `${Math.round(snap.answer_rate * 100)}%`);
  tile("finished", snap.finished);
  tile("transfers", snap.transfers);
  if (snap.latency.available) tile("latency", Math.round(snap.latency.mean_ms), { unit: " ms" });
  else tile("latency", t("screen.no_latency"), { na: true });
  chart(snap.calls_per_minute);
  const graded = snap.grades.reduce((a, g) => a + g.count, 0);
  $("#grades").replaceChildren(...(snap.grades.length
    ? snap.grades.map((g) => h("div", { class: "bar", "data-label": g.name }, h("span", {}, g.name),
      h("div", { class: "track" }, h("div", { class: `fill grade-${g.name}`, style: `width:${(100 * g.count) / graded}%` })),
      h("b", { class: "count" }, g.count)))
    : [h("p", { class: "empty" }, t("screen.no_grades"))]));
  toplist("#intents", snap.top_intents, t("screen.no_intents"));
  toplist("#faq", snap.faq_hits, t("screen.no_faq"));
  $("#campaign-count").textContent = snap.campaigns.length;
  $("#campaigns").replaceChildren(...(snap.campaigns.length
    ? snap.campaigns.map((c) => h("li", { "data-campaign": c.id }, h("span", {}, `#${c.id} ${c.name}`), h("b", {}, c.in_progress)))
    : [h("li", { class: "empty" }, t("screen.no_campaigns"))]));
  const latency = snap.latency.available
    ? t("screen.latency_note", { samples: snap.latency.samples, p90: Math.round(snap.latency.p90_ms) })
    : t("screen.latency_missing");
  $("#foot").textContent = t("screen.foot", { count: snap.recent_calls }) + latency;
  $("#live").textContent = t("screen.live", { time: fmtClock(snap.generated_at) });
  $("#live").classList.remove("down");
}

function frames(buffer, onEvent) {
  let rest = buffer;
  for (let end = rest.indexOf("\n\n"); end >= 0; end = rest.indexOf("\n\n")) {
    const frame = rest.slice(0, end);
    rest = rest.slice(end + 2);
    const lines = frame.split("\n");
    if (lines.some((l) => l === "event: snapshot")) {
      onEvent(JSON.parse(lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n")));
    }
  }
  return rest;
}

async function stream() {
  const response = await api("/console/api/screen/stream", { raw: true });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = frames(buffer + value, render);
  }
}

async function forever() {
  for (;;) {
    try {
      await stream();
    } catch (error) {
      if (error instanceof ApiError && [401, 403].includes(error.status)) throw error;
      if (error instanceof ApiError) showError("#page-error", error);
    }
    $("#live").textContent = t("screen.down");
    $("#live").classList.add("down");
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

function tick() {
  $("#clock").textContent = fmtClock(new Date());
}

run(async () => {
  tick();
  setInterval(tick, 1000);
  $("#fullscreen").addEventListener("click", () => document.documentElement.requestFullscreen?.());
  await forever();
});
