// Shared helpers of the console pages: the key, API calls, error messages, tiny DOM builder.
import { has, label, lang, t } from "./i18n.js";

export { label, lang, t };
const KEY = "waihu.key";
const WHO = "waihu.who";

export const $ = (selector, root = document) => root.querySelector(selector);
export const data = document.body.dataset;

/** An API answer's error: its `detail` (the server's English) and, for sentences of the server's
 *  problem registry, the stable `code` and its `params`, which the console words itself. */
export class ApiError extends Error {
  constructor(status, detail, code = null, params = {}) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
    this.code = code;
    this.params = params || {};
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY);
}

export function who() {
  try {
    return JSON.parse(sessionStorage.getItem(WHO) || "null");
  } catch {
    return null;
  }
}

export function saveLogin(key, identity) {
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(WHO, JSON.stringify(identity));
}

export function logout() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(WHO);
  location.href = "/console/login";
}

function toLogin() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.href = `/console/login?next=${next}`;
}

/** Call the API with the stored key. JSON in, JSON out; `raw` returns the Response. */
export async function api(path, { method = "GET", body, contentType, raw = false, key } = {}) {
  const headers = { Authorization: `Bearer ${key || getKey() || ""}` };
  let payload = body;
  if (body !== undefined && typeof body !== "string" && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  const response = await fetch(path, { method, headers, body: payload });
  if (response.status === 401 && !key) {
    sessionStorage.removeItem(KEY);
    toLogin();
    throw new ApiError(401, t("common.key_invalid"));
  }
  if (!response.ok) {
    let detail = response.statusText;
    let answer = {};
    try {
      answer = await response.json();
      detail = answer.detail ?? detail;
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, detail, answer.code ?? null, answer.params);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

/** Pydantic's validation error types the console words itself (`err.<type>`, filled from `ctx`);
 *  any other type shows the server's English text. */
const VALIDATION_TYPES = [
  "bool_parsing", "bool_type", "enum", "extra_forbidden", "float_parsing", "float_type",
  "greater_than", "greater_than_equal", "int_parsing", "int_type", "json_invalid", "less_than",
  "less_than_equal", "literal_error", "missing", "string_pattern_mismatch", "string_too_long",
  "string_too_short", "string_type", "too_long", "too_short", "value_error",
];

/** The sentence of the server's problem `code` (`err.code.<code>`) filled from `params`, or null when
 *  the catalogue does not know the code (a newer server): the caller then shows the server's text.
 *  Params need no HTML escaping: every message lands in text nodes (h(), textContent), never in markup. */
function problemText(code, params) {
  if (!code || !has(`err.code.${code}`)) return null;
  return t(`err.code.${code}`, params || {});
}

/** A server sentence with a registry `code` (an import's row error, say) in the page's language;
 *  `fallback` (the server's English) when there is no code or the catalogue does not know it. */
export function wordProblem(code, params, fallback) {
  return problemText(code, params) ?? fallback;
}

/** One problem of a 422 answer: the field, then what is wrong with it in the page's language. */
function describeProblem(problem) {
  const field = (problem.loc || []).filter((x) => x !== "body").join(".");
  let text = problem.msg;
  const coded = problemText(problem.type, problem.ctx);
  if (coded !== null) {
    text = coded; // a problem of the server's registry (its code is the type)
  } else if (VALIDATION_TYPES.includes(problem.type)) {
    text = t(`err.${problem.type}`, problem.ctx || {});
    // A validator's own sentence (value_error) stays as the server wrote it, after the translation.
    if (problem.type === "value_error" && problem.msg) text += ` (${problem.msg.replace(/^Value error, /, "")})`;
  }
  return t("err.field", { field, text });
}

/** A readable sentence for an API error. */
export function describe(error) {
  if (!(error instanceof ApiError)) return String(error?.message || error);
  const detail = error.detail;
  if (error.status === 403) {
    const role = who()?.role || t("common.unknown");
    const needs = error.params.needs || (typeof detail === "string" ? detail.split("needs one of: ")[1] : "");
    return t("common.forbidden", { role }) + (needs ? t("common.forbidden_needs", { needs }) : "") + t("common.ask_admin");
  }
  if (Array.isArray(detail)) return detail.map(describeProblem).join("\n");
  if (detail && typeof detail === "object") {
    const message = problemText(error.code, error.params) ?? detail.message;
    return [message, ...(detail.problems || [])].filter(Boolean).join("\n");
  }
  const text = problemText(error.code, error.params) ?? detail;
  return t("common.http_error", { detail: text, status: error.status });
}

/** Show `error` in `target` (an element or selector); 403 gets its own clear style. */
export function showError(target, error) {
  const box = typeof target === "string" ? $(target) : target;
  const forbidden = error instanceof ApiError && error.status === 403;
  box.replaceChildren(
    h("div", { class: `alert ${forbidden ? "forbidden" : "error"}`, role: "alert" },
      forbidden ? "403 — " : "", h("span", {}, describe(error).split("\n")[0]),
      describe(error).includes("\n") ? h("pre", {}, describe(error).split("\n").slice(1).join("\n")) : ""),
  );
}

export function showOk(target, ...content) {
  const box = typeof target === "string" ? $(target) : target;
  box.replaceChildren(h("div", { class: "alert ok", role: "status" }, ...content));
}

export function clear(target) {
  (typeof target === "string" ? $(target) : target).replaceChildren();
}

/** Build an element: h("a", {href: "/x", class: "y", onclick: fn}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === "") continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function toast(message) {
  const box = $("#toast");
  box.textContent = message;
  box.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove("show"), 2500);
}

/** fmtTime(iso, timeZone): in a campaign's zone if given, else the display zone (time.js, which also
 *  labels the pages' time columns with their zone). */
export { fmtTime } from "./time.js";

export const tags = (list) => (list || []).map((t) => h("span", { class: "tag" }, t));

export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Fill a <select> with the flows (latest versions) and return them. */
export async function fillFlows(select, selected) {
  const flows = (await api("/v1/flows")).items;
  select.replaceChildren(...flows.map((f) => h("option", { value: f.flow_id, selected: f.flow_id === selected }, `${f.flow_id} — ${f.name}`)));
  return flows;
}

/** Fill a <select> with a flow's versions (newest first); returns the selected version number. */
export async function fillVersions(select, flowId, selected) {
  const versions = (await api(`/v1/flows/${encodeURIComponent(flowId)}/versions`)).items;
  const wanted = Number(selected) || versions[0]?.version;
  select.replaceChildren(...versions.map((v) => h("option", { value: v.version, selected: v.version === wanted },
    `v${v.version}${v.version === versions[0].version ? t("common.latest") : ""}`)));
  return wanted;
}

/** Every page but the login one: demand a key, show who is logged in, hide what the role may not use. */
export function startPage() {
  if (!getKey()) {
    toLogin();
    return false;
  }
  const identity = who();
  if (identity) {
    const tenant = identity.tenant && identity.tenant !== "default" ? ` · ${identity.tenant}` : "";
    $("#who").textContent = `${identity.name} · ${identity.role}${tenant}`;
    for (const link of document.querySelectorAll("header nav a[data-roles]")) {
      if (!link.dataset.roles.split(" ").includes(identity.role)) link.hidden = true;
    }
  }
  $("#logout")?.addEventListener("click", logout);
  return true;
}

/** Run the page's async main, showing any error at the top of the page. */
export function run(main) {
  if (!startPage()) return;
  main().catch((error) => {
    showError("#page-error", error);
    if (error instanceof ApiError && error.status === 403) { // nothing on this page is for this role
      for (const child of $("main").children) if (child.id !== "page-error") child.hidden = true;
    }
  });
}
