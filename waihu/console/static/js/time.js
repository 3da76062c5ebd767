// Every time the console shows is in a named zone, never the browser's: an operator in China may use a
// browser whose zone is UTC (a bank's remote desktop) or anything else. Campaign pages use the
// campaign's zone; every other page the deployment's display zone (WAIHU_TIME_ZONE, default
// Asia/Shanghai), which base.html puts on <body data-time-zone>. Only this module formats times
// (tests/service/test_console_times.py keeps browser-zone formatting out of the other modules).
import { lang, t } from "./i18n.js";

/** The deployment's display zone (IANA), e.g. "Asia/Shanghai". */
export const DISPLAY_ZONE = document.body.dataset.timeZone || "Asia/Shanghai";

const UTC_NAMES = ["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu"];

/** `zone` when this browser knows it, else the display zone (never the browser's own). */
function known(zone) {
  if (!zone) return DISPLAY_ZONE;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone;
  } catch {
    return DISPLAY_ZONE;
  }
}

/** A date and time (`iso`: an API timestamp) in the page's language, in `timeZone` (default: the display zone). */
export function fmtTime(iso, timeZone) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(lang, { dateStyle: "short", timeStyle: "medium", timeZone: known(timeZone) });
}

/** The 24-hour clock time of `when` (a Date or an ISO string) in `timeZone` (default: the display zone). */
export function fmtClock(when, { timeZone, seconds = true } = {}) {
  const second = seconds ? "2-digit" : undefined;
  return new Date(when).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", second, hourCycle: "h23", timeZone: known(timeZone) });
}

/** Minutes `zone` is ahead of UTC at the instant `ms` (milliseconds since the epoch). */
function offsetMinutes(zone, ms) {
  const parts = {};
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  for (const part of format.formatToParts(new Date(ms))) parts[part.type] = Number(part.value);
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
}

/** "UTC+8", "UTC-7", "UTC+5:30" or "UTC": `timeZone`'s offset now. */
export function utcOffset(timeZone) {
  const minutes = offsetMinutes(known(timeZone), Date.now());
  if (!minutes) return "UTC";
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? "-" : "+"}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, "0")}` : ""}`;
}

/** How the page names a zone: "Asia/Shanghai UTC+8"; plain "UTC" for UTC itself. */
export function zoneLabel(timeZone) {
  const zone = known(timeZone);
  return UTC_NAMES.includes(zone) ? "UTC" : `${zone} ${utcOffset(zone)}`;
}

/** The instant (ISO, UTC) of a wall-clock `value` ("2026-03-06T07:30" from <input type=datetime-local>) in `timeZone`. */
export function wallToIso(value, timeZone) {
  const zone = known(timeZone);
  const [date, time = "00:00"] = value.split("T");
  const [year, month, day] = date.split("-").map(Number);
  const [hour, minute, second = 0] = time.split(":").map(Number);
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  // The offset at the first guess, then at the corrected instant: right across a DST change too.
  let ms = asUtc - offsetMinutes(zone, asUtc) * 60000;
  ms = asUtc - offsetMinutes(zone, ms) * 60000;
  return new Date(ms).toISOString();
}

/** Append "(zone)" to every element marked data-zone="`mark`": "display" (list headers, labelled at
 *  load) or "campaign" (a campaign page's, labelled once the campaign's zone is known). */
export function labelZones(timeZone, mark = "display") {
  for (const el of document.querySelectorAll(`[data-zone="${mark}"]`)) {
    let tag = el.querySelector(":scope > .zone");
    if (!tag) {
      tag = document.createElement("small");
      tag.className = "zone";
      el.append(" ", tag);
    }
    tag.textContent = t("time.in_zone", { zone: zoneLabel(timeZone) });
  }
}

labelZones(DISPLAY_ZONE);
