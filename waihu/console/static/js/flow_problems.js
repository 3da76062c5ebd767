// Flow problems (dialog/problem_codes.py) in the page's language: each has a registry code and params.
import { ApiError, describe } from "./common.js";
import { has, t } from "./i18n.js";

/** What is wrong, in the page's language: the catalogue's `flow.problem.<code>` filled from the
 *  problem's params, else the server's English `message` (a code this console does not know yet).
 *  The result is plain text: callers put it in text nodes or escape it, never raw into markup. */
export function problemMessage(problem) {
  const key = `flow.problem.${problem.code}`;
  if (!problem.code || !has(key)) return problem.message;
  // dialog/loader.py names the file's top level "(top level)" where a field path would go.
  const params = Object.fromEntries(
    Object.entries(problem.params || {}).map(([name, value]) => [name, value === "(top level)" ? t("flow.top_level") : value]),
  );
  return t(key, params);
}

/** The `FILE:LINE:COL: message` line of a problem, worded in the page's language. */
export function problemLine(problem) {
  const prefix = problem.severity === "error" ? "" : t("editor.warning_prefix");
  return `${problem.file}:${problem.line}:${problem.col}: ${prefix}${problemMessage(problem)}`;
}

/** A flow upload's error: a rejected flow's problems (`problem_items`: code and params) worded in the
 *  page's language, one per line after the headline; any other error as describe() words it. */
export function describeFlowError(error) {
  const items = error instanceof ApiError ? error.detail?.problem_items : null;
  if (!Array.isArray(items) || !items.length) return describe(error);
  const head = describe(new ApiError(error.status, { message: error.detail.message }, error.code, error.params));
  return [head, ...items.map(problemLine)].join("\n");
}

/** What showError() should show for a flow upload's `error`: the worded problems of a rejected flow,
 *  else the error itself (a 403 keeps its own style). */
export function flowError(error) {
  return error instanceof ApiError && Array.isArray(error.detail?.problem_items) ? new Error(describeFlowError(error)) : error;
}
