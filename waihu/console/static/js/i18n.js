// The page's message catalogue (embedded by base.html for the page's language) and t(key, values).
const embedded = document.getElementById("i18n");
const MESSAGES = embedded ? JSON.parse(embedded.textContent) : {};

/** The page's language: zh-CN (default) or en. */
export const lang = document.documentElement.lang || "zh-CN";

/** Whether the catalogue has `key` (for keys built at run time, e.g. the server's problem codes). */
export function has(key) {
  return Object.hasOwn(MESSAGES, key);
}

/** The message `key` with {name} placeholders filled from `values`; the key itself when missing. */
export function t(key, values = {}) {
  const text = MESSAGES[key];
  if (text === undefined) {
    console.warn(`console message ${key} missing in ${lang}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** The page's word for an API enum value (`kind` e.g. "campaign_state", "outcome", "role"): the
 *  catalogue's `enum.<kind>.<value>`, else the raw value (the API keeps raw strings; a value the
 *  catalogue does not know yet still shows, untranslated, instead of a key). */
export function label(kind, value) {
  if (value === null || value === undefined || value === "") return value;
  const key = `enum.${kind}.${value}`;
  return has(key) ? MESSAGES[key] : String(value);
}
