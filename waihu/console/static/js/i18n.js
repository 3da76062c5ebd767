// The page's message catalogue (embedded by base.html for the page's language) and t(key, values).
const embedded = document.getElementById("i18n");
const MESSAGES = embedded ? JSON.parse(embedded.textContent) : {};

/** The page's language: zh-CN (default) or en. */
export const lang = document.documentElement.lang || "zh-CN";

/** The message `key` with {name} placeholders filled from `values`; the key itself when missing. */
export function t(key, values = {}) {
  const text = MESSAGES[key];
  if (text === undefined) {
    console.warn(`console message ${key} missing in ${lang}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
