"""Registry of flow-problem codes: each stable code with its English message template.

A :class:`~dialog.problems.FlowProblem` carries a ``code`` and ``params``; its English ``message`` is the
code's template filled with the params (``{name}`` placeholders), so the command line prints exactly what
it always printed while the console words the same problem in the operator's language
(``flow.problem.<code>`` in its catalogues, the same ``{params}``).

Pure: no waihu imports; the console's catalogue tests read :data:`PROBLEM_CODES`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

#: A problem's parameter value: what a template may insert.
ParamValue = str | int | float

#: Custom schema-validator messages (``PydanticCustomError`` templates, without the field prefix); the
#: problem code is ``schema.<key>`` and its template ``{field}: <message>``.
SCHEMA_MESSAGES: dict[str, str] = {
    "regex_invalid": "pattern #{number} {pattern} is not a valid regex: {reason}",
    "goto_and_next": "both goto ({goto}) and next ({next}) given; use one",
    "json_path_invalid": "map.{variable}: {path} is not a dotted JSON path (bill.amount, plans.0)",
    "prompt_missing": "prompt: a node needs at least one prompt (or a fetch:)",
    "fetch_node_speaks": "a fetch node only fetches and branches: remove {others}",
    "dtmf_key_invalid": "DTMF key {key} must be one of 0-9, * or #",
}

#: File-reference refusals (:class:`dialog.flow_files.FileReferenceError`, without the field prefix); the
#: problem code is the same key, its template ``{field}: <message>``.
FILE_MESSAGES: dict[str, str] = {
    "file_references_refused": (
        "a flow sent over the API or console cannot reference files; put the content inline"
    ),
    "file_name_malformed": "empty or malformed file name",
    "file_outside_directory": (
        "{reference} is outside the flow's directory (absolute paths and '..' are refused; "
        "set {env}=1 or pass --allow-outside-files to allow)"
    ),
    "recording_name_invalid": (
        "{reference} is not a recording name (letters, digits, '-', '_', '.', '/'; at most {max} characters)"
    ),
    "recording_name_dotdot": "{reference}: recording names are relative paths without '..'",
    "recording_not_wav": "{reference}: recordings must be .wav files",
    "file_reference_refused": "{reason}",
}

#: Pydantic's own error types worded here; the English must equal pydantic's message (checked at
#: run time: a message that differs falls back to ``schema.error`` with pydantic's text as ``reason``).
PYDANTIC_MESSAGES: dict[str, str] = {
    "string_type": "Input should be a valid string",
    "int_type": "Input should be a valid integer",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "int_from_float": "Input should be a valid integer, got a number with a fractional part",
    "float_type": "Input should be a valid number",
    "float_parsing": "Input should be a valid number, unable to parse string as a number",
    "bool_type": "Input should be a valid boolean",
    "bool_parsing": "Input should be a valid boolean, unable to interpret input",
    "list_type": "Input should be a valid list",
    "dict_type": "Input should be a valid dictionary",
    "model_type": "Input should be a valid dictionary or instance of {class_name}",
    "model_attributes_type": "Input should be a valid dictionary or object to extract fields from",
    "literal_error": "Input should be {expected}",
    "greater_than": "Input should be greater than {gt}",
    "greater_than_equal": "Input should be greater than or equal to {ge}",
    "less_than": "Input should be less than {lt}",
    "less_than_equal": "Input should be less than or equal to {le}",
    "string_too_short": "String should have at least {min_length} characters",
    "string_too_long": "String should have at most {max_length} characters",
    "string_pattern_mismatch": "String should match pattern '{pattern}'",
    "too_short": "{field_type} should have at least {min_length} items after validation, not {actual_length}",
    "too_long": "{field_type} should have at most {max_length} items after validation, not {actual_length}",
}

PROBLEM_CODES: dict[str, str] = {
    # YAML text (dialog/yaml_positions.py, dialog/loader.py)
    "yaml_syntax_error": "YAML syntax error: {reason}",
    "yaml_refused": "YAML refused: {reason}",
    "yaml_error": "YAML error: {reason}",
    "duplicate_key": "duplicate key '{key}' (the later one wins in YAML)",
    "not_a_mapping": "a flow file must be a YAML mapping (flow:, nodes:, ...)",
    "unreadable_file": "cannot read flow file: {reason}",
    "validation_too_slow": "validation took longer than {seconds} s: make the flow smaller",
    # schema (dialog/loader.py _pydantic_problems)
    "schema.missing": "{parent}: missing required field '{name}'",
    "schema.extra_forbidden": "{parent}: unknown field '{name}'",
    "schema.extra_forbidden_suggest": "{parent}: unknown field '{name}' (did you mean '{suggestion}'?)",
    "schema.error": "{field}: {reason}",
    "schema.more_errors": "{count} more schema errors not shown",
    **{f"schema.{kind}": "{field}: " + text for kind, text in PYDANTIC_MESSAGES.items()},
    **{f"schema.{kind}": "{field}: " + text for kind, text in SCHEMA_MESSAGES.items()},
    # knowledge-base file and recordings (dialog/loader.py, dialog/flow_files.py)
    "kb_reference_invalid": "knowledge_base: give a list of entries or {{file: PATH}}",
    "kb_file_not_found": "knowledge base file not found: {file}",
    "kb_file_unreadable": "cannot read knowledge base file: {reason}",
    "kb_file_not_a_list": "knowledge base file must hold a list of entries",
    "audio_file_not_found": "audio file not found: {file}",
    "audio_not_in_bundle": "{field}: {name} is not in the bundle (it carries: {carried})",
    **{code: "{field}: " + text for code, text in FILE_MESSAGES.items()},
    # semantics (dialog/semantics.py)
    "node_id_reserved": "node id '{node}' is a reserved step name; rename the node",
    "start_node_unknown": "start node '{node}' is not defined under nodes:",
    "next_step_unknown": "next step '{step}' is not a node nor one of {allowed}",
    "fallback_loops": "exhausted fallback must end the call or go to a node, not loop",
    "kb_then_unknown": "then '{step}' is not a node nor return/hangup/transfer",
    "transfer_on_failed_unknown": "transfer.on_failed node '{node}' is not defined",
    "faq_entry_unknown": "'{intent}' names no knowledge-base entry",
    "intent_undefined": "intent '{intent}' is not defined under intents: (give it examples)",
    "intent_builtin_defined": "'{intent}' is produced by the engine and cannot be defined",
    "intent_without_examples": "intent '{intent}' has no examples",
    "intent_unused": "intent '{intent}' is defined but no node or global cell uses it",
    "keyword_normalised": "keyword {keyword} is matched as {normalized} after normalisation",
    "keyword_shared": "keyword {keyword} of {owner} is also a keyword of {other}",
    "kb_id_duplicated": "knowledge-base id '{id}' is duplicated (first at entry {first})",
    "kb_entry_without_questions": "knowledge-base entry '{id}' has no example questions",
    "answers_never_used": "node '{node}' ends with '{then}': its answers are never used",
    "event_unhandled": "node '{node}' does not handle {event} (add a cell or fallbacks.{event})",
    "node_unreachable": "node '{node}' is unreachable from start node '{start}'",
    "variable_undeclared": "variable '{{{name}}}' is not declared under variables:",
    "placeholder_not_a_name": "placeholder {{{name}}} must be a variable name",
    "template_malformed": "malformed template {template}: {reason} (write {{{{ for a literal brace)",
    "recording_with_variables": (
        "a recording can only stand for a prompt without variables (map fragments instead)"
    ),
    "fragment_not_in_prompt": "fragment {fragment} is not in the node's first prompt",
    "fragment_has_variable": "fragment {fragment} contains a variable",
    "grades_duplicated": "grade letters are duplicated",
    "default_grade_unknown": "default grade '{grade}' is not one of {grades}",
    "grade_unknown": "grade '{grade}' is not one of {grades}",
    "node_undefined": "node '{node}' is not defined",
    "tag_never_set": "tag '{tag}' is never set by the flow",
    "post_call_duplicated": "post-call action '{name}' is defined twice",
    "post_call_variable_unknown": (
        "variable '{{{name}}}' is neither declared under variables: nor one of {allowed}"
    ),
    "url_scheme": "url {url} must start with http:// or https://",
    "url_host_templated": "the url's host must be written out: variables only in its path and query",
    "url_variable_undeclared": "url variable '{{{name}}}' is not declared under variables:",
    "mapped_variable_undeclared": "mapped variable '{variable}' is not declared under variables:",
    "mapped_variable_unused": "mapped variable '{variable}' is never used in a prompt or reply",
    "fetch_branch_unknown": "{branch} '{target}' is not a node nor one of {allowed}",
    "fetch_branch_self": "{branch} would fetch again at once: go to another node",
    "fetch_loop": "fetch node '{node}' can loop back to itself through fetch nodes only",
}

_FORMATTER = string.Formatter()


def template_params(template: str) -> set[str]:
    """The ``{name}`` parameters a template uses (``{{`` is a literal brace)."""
    return {name for _literal, name, _spec, _conv in _FORMATTER.parse(template) if name}


def render_problem(code: str, params: Mapping[str, ParamValue]) -> str:
    """The English message of ``code`` with ``params``; KeyError for an unregistered code."""
    return PROBLEM_CODES[code].format_map(dict(params))
