"""The registry of the problems the server words itself: a stable ``code`` and an English template.

Every 4xx sentence the API (and the console's API) writes is one entry here. Raising one keeps the
JSON contract strategy systems read (``detail``: the English sentence, or FastAPI's list of
``{loc, msg, type}``) and adds ``code`` and ``params`` to the body, so a client (the console) can word
the problem in its own language: the console's catalogues hold ``err.code.<code>`` for every code (a
unit test checks). Field problems carry the code as the item's ``type`` and the params as its ``ctx``,
like Pydantic's own errors; validators raise :func:`invalid` (a ``PydanticCustomError``) for the same.

Lower layers (phones, webhook URLs, imports, bundles, the learning inbox, campaign states) raise their
own exceptions with :func:`sentence` as the message: the text is unchanged and the API passes the code
on (:func:`explained`); an import's row errors carry theirs in the 200 answer.

Templates use ``{name}`` placeholders only (no format specs: the console fills them too). Params whose
text comes from a library or another layer (``reason``) stay English in every language.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any, Final

from fastapi import HTTPException, status
from pydantic_core import PydanticCustomError

#: code → English template. Keep codes stable: clients and the console's catalogues key on them.
PROBLEMS: Final[Mapping[str, str]] = {
    # Authentication and roles (401, 403).
    "api_key_missing": "missing API key: send Authorization: Bearer <key>",
    "api_key_invalid": "invalid or revoked API key",
    "role_forbidden": "role '{role}' may not do this; needs one of: {needs}",
    "export_transcript_forbidden": "role '{role}' may not export transcripts (query: transcript)",
    "trunk_platform_admin_only": "a trunk serves every tenant: only a platform admin may set its limits",
    "seat_field_admin_only": "only an admin may change a seat's {field}",
    "global_dnc_platform_admin_only": "only a platform admin may change the global block list",
    "key_tenant_platform_admin_only": "only a platform admin may create keys in another tenant",
    "platform_key_platform_admin_only": "only a platform admin may create platform-admin keys",
    "platform_key_revoke_forbidden": "only a platform admin may revoke a platform admin's key",
    # Not found (404).
    "campaign_not_found": "campaign {campaign} not found",
    "contact_not_found": "contact '{contact}' in campaign {campaign} not found",
    "attempt_not_found": "attempt {attempt} not found",
    "attempt_recording_not_found": "recording of attempt {attempt} not found",
    "flow_not_found": "flow '{flow}' not found",
    "flow_version_not_found": "flow '{flow}' version {version} not found",
    "flow_recording_not_found": "recording '{name}' of flow '{flow}' version {version} not found",
    "flow_has_no_version": "flow '{flow}' has no version {version}",
    "flow_not_uploaded": "no flow '{flow}' uploaded (POST /v1/flows first)",
    "variant_flow_not_found": "no flow '{flow}'",
    "holiday_calendar_not_found": "holiday calendar '{name}' not found",
    "trunk_not_found": "trunk '{name}' not found",
    "seat_not_found": "seat {seat} not found",
    "dnc_entry_not_found": "DNC entry not found",
    "key_not_found": "key {key} not found",
    "simulator_session_not_found": "simulator session {session} (expired? start again) not found",
    # Conflicts (409).
    "conflicts_with_existing_data": "conflicts with existing data",
    "contact_busy": "contact '{contact}' is {state}: erase it once the call has ended",
    "contact_not_pending": "contact '{contact}' is {state}, not pending: it cannot be cancelled",
    "campaign_takes_no_contacts": "campaign {campaign} is {state}: no more contacts",
    "campaign_not_paused": "campaign {campaign} is {state}, not paused",
    "campaign_state_conflict": "{reason}",
    "campaign_unchangeable": "campaign {campaign} is {state}: it cannot be changed",
    "campaign_finished": "campaign {campaign} is {state}",
    "variants_locked": "campaign {campaign} has called contacts already: only weights may change now",
    "simulation_ended": "the call has ended; start a new one",
    # Request bodies and queries (400, 413, 415, 422).
    "json_too_deep_for_parser": "JSON nested deeper than the parser allows",
    "body_too_large": "body larger than {max_bytes} bytes",
    "body_json_invalid": "invalid JSON: {reason}",
    "json_too_deep": "JSON nested deeper than {max_depth} levels",
    "cursor_invalid": "not a cursor returned by this API",
    "time_needs_zone": "needs a time zone (e.g. 2026-01-01T00:00:00Z)",
    "field_not_nullable": "may not be null (leave the field out to keep it)",
    "flow_content_type": "send YAML (application/yaml), a bundle (application/zip) or multipart 'file'",
    "flow_file_missing": "a YAML or zip file field named 'file' is required",
    "flow_too_large": "flow larger than {max_bytes} bytes",
    "flow_not_utf8": "flow YAML must be UTF-8",
    "flow_bundle_rejected": "{reason}",
    "flow_has_errors": "the flow has errors",
    "stored_flow_invalid": "the stored flow no longer validates",
    "contacts_content_type": "use application/json, text/csv or multipart/form-data",
    "contacts_file_missing": "a CSV file field named 'file' is required",
    "contacts_rejected": "{reason}",
    "phone_rejected": "{reason}",
    "webhook_url_refused": "{reason}",
    "rule_names_not_distinct": "rule names must be distinct",
    "route_to_itself": "a campaign cannot route contacts to itself",
    "route_target_closed": "campaign {campaign} is {state}: it takes no contacts",
    "stop_not_after_start": "stop_at must be after start_at",
    "not_before_after_not_after": "not_before must not be after not_after",
    "voicemail_message_required": "voicemail_message is required when voicemail_action is 'message'",
    "variant_names_not_distinct": "variant names must be distinct",
    "no_positive_weight": "at least one variant needs a positive weight",
    "no_variants": "the campaign has no variants (PUT them first)",
    "variant_unknown": "no variant '{name}'; variants: {variants}",
    "holiday_listed_twice": "date {date} is listed twice",
    "platform_admin_needs_admin_role": "only admin keys can be platform admins",
    "flow_tests_cannot_run": "cannot run the tests",
    "simulation_cannot_start": "cannot start the call",
    "inbox_rejected": "{reason}",
    # Validators of request models outside this package (campaign rules, calling windows, secrets).
    "rule_match_empty": "give at least one of grades, tags_any, intents_any",
    "route_rule_needs_campaign": "a route rule needs campaign_id (the follow-up campaign)",
    "callback_time_for_retry": "use_callback_time is for retry rules",
    "campaign_id_for_route": "campaign_id is for route rules",
    "retry_rule_after_s": "a retry rule needs after_s of at least 60 (the fallback delay)",
    "rule_names_duplicate": "rule names must be unique: {names}",
    "region_given_twice": "region {region} is given twice",
    "region_unknown": "unknown region '{region}': use a province name such as 广东, 北京 or 新疆",
    "time_needs_offset": "give a UTC offset (2026-12-01T09:00:00+08:00)",
    "year_out_of_range": "a year from 2000 to 2200",
    "weekdays_invalid": "weekdays are ISO numbers 1 (Monday) to 7 (Sunday)",
    "time_not_hhmm": "time must be HH:MM (00:00 to 24:00)",
    "window_start_not_before_end": "start must be before end (a window cannot cross midnight; use two)",
    "time_zone_unknown": "unknown time zone '{zone}' (use an IANA name such as Asia/Shanghai)",
    "secret_too_short": "must have at least {min_chars} characters; "
    "use a random string, e.g. `openssl rand -hex 32`",
    "secret_whitespace": "must not start or end with whitespace",
    "secret_control_chars": "must not contain control or invisible characters",
    "secret_few_distinct": "has fewer than {min_distinct} distinct characters; "
    "use a random string, e.g. `openssl rand -hex 32`",
    "secret_repeated": "is a repeated pattern; use a random string, e.g. `openssl rand -hex 32`",
    "secret_predictable": "is too predictable; use a random string, e.g. `openssl rand -hex 32`",
    "post_call_template_invalid": "{reason}",
    # Sentences of lower layers, raised as ``sentence(code, ...)`` (phones, webhook URLs, imports, bundles,
    # the learning inbox, campaign states); the API passes their code on.
    "phone_country_code_unknown": "unknown country calling code {country_code}",
    "phone_region_unknown": "unknown region '{region}' (use an ISO 3166 code such as CN)",
    "phone_too_long": "phone number longer than {max_chars} characters",
    "phone_empty": "empty phone number",
    "phone_bad_characters": "phone number may contain only digits, a leading +, spaces, dashes, dots "
    "and brackets",
    "phone_unparsable": "not a phone number: {reason}",
    "phone_extension": "extensions are not supported",
    "phone_invalid": "not a valid phone number (region {region} for numbers without +)",
    "phone_not_dialled": "a {kind} number is not dialled (mobile, fixed-line and VoIP numbers only)",
    "campaign_transition_refused": "campaign {campaign} is {state}; cannot become {target}",
    "campaign_changed_concurrently": "campaign {campaign} changed concurrently (now {state})",
    "url_invalid": "not a URL: {reason}",
    "url_scheme": "the scheme must be {schemes}",
    "url_scheme_https": "the scheme must be https (plain http needs the server setting {setting}=1)",
    "url_credentials": "credentials (user:password@) are not allowed in the URL",
    "url_no_host": "the URL has no host",
    "url_address_blocked": "{host} is {reason} ({ip}); allow it with the server setting {setting}",
    "url_host_blocked": "{host} is {reason}; allow it with the server setting {setting}",
    "url_unresolved": "{host} does not resolve: {reason}",
    "url_no_address": "{host} does not resolve to any address",
    "contacts_json_shape": "body must be a JSON list of contacts or {shape}",
    "contacts_too_many": "at most {max_rows} contacts per request, got {count}",
    "contacts_too_many_rows": "at most {max_rows} contacts per request",
    "csv_not_utf8": "CSV must be UTF-8: {reason}",
    "csv_empty": "CSV is empty: a header row is needed",
    "csv_header_unreadable": "CSV header unreadable: {reason}",
    "csv_no_phone_column": "CSV header needs a phone column (phone, phone_number or phoneNumber)",
    "csv_line_unreadable": "CSV line {line}: {reason}",
    "bundle_too_large": "bundle larger than {max_bytes} bytes",
    "bundle_not_zip": "not a readable zip archive ({reason})",
    "bundle_too_many_files": "more than {max_files} files in the bundle",
    "bundle_yaml_not_on_top": "the flow YAML must be at the top of the bundle",
    "bundle_second_yaml": "a second flow file (the first is '{first}')",
    "bundle_foreign_file": "only the flow YAML and .wav recordings belong here: {reason}",
    "bundle_recording_twice": "this recording is in the bundle twice",
    "bundle_audio_too_large": "recordings larger than {max_bytes} bytes in all",
    "bundle_no_yaml": "no flow file (*.yaml) at the top of the bundle",
    "bundle_symlink": "symbolic links are refused",
    "bundle_encrypted": "encrypted members are refused",
    "bundle_compression": "only stored or deflated members (a plain zip) are accepted",
    "bundle_path_escapes": "member names must be relative paths inside the bundle (no '..', '/', '\\', ':')",
    "bundle_member_too_large": "larger than {max_bytes} bytes",
    "wav_not_pcm": "not a PCM WAV file ({reason})",
    "wav_format": "WAV must be mono or stereo at 8-48 kHz (got {channels} ch, {rate} Hz)",
    "wav_empty": "the recording is empty",
    "wav_too_long": "recording longer than {max_s} s",
    "row_not_object": "a contact must be an object",
    "row_reference_required": "required: the strategy system's id of this contact",
    "row_reference_too_long": "at most {max_chars} characters",
    "row_extra_cells": "{count} more cells than header columns",
    "row_phone_required": "required (a string)",
    "row_name_invalid": "a string of at most {max_chars} characters",
    "row_variables_not_object": "an object of name → value",
    "row_too_many_variables": "at most {max_count} variables",
    "row_variable_type": "values must be strings or numbers",
    "row_variable_too_long": "at most {max_name}-character names, {max_chars}-character values",
    "row_unknown_field": "unknown field (put custom values under variables)",
    "row_duplicate_reference": "duplicate reference_id in this import",
    "row_phone_in_campaign": "same phone as reference_id '{holder}' already in the campaign: "
    "a number is dialled once per campaign",
    "row_phone_in_import": "same phone as reference_id '{holder}' on row {holder_row} of this import: "
    "a number is dialled once per campaign",
    "inbox_items_missing": "no inbox items {items} for flow '{flow}'",
    "inbox_items_closed": "inbox items {items} are no longer open",
    "inbox_flow_broken": "the latest version of the flow no longer loads",
    "inbox_no_intent": "the flow has no intent '{intent}'",
    "inbox_no_kb_entry": "the flow's knowledge base has no entry '{kb_id}'",
    "inbox_flow_changed": "flow '{flow}' got a new version meanwhile: try again",
    "inbox_flow_invalid": "the edited flow does not validate: {problems}",
    "inbox_one_target": "give exactly one of intent or kb_id",
    "inbox_tests_fail": "the flow's tests fail with these examples: nothing was saved",
    "screen_streams_full": "too many open big-screen streams for this key (at most {limit}); close one first",
}

Param = str | int | float


def placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders of ``template``."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(code: str, params: Mapping[str, Param]) -> str:
    """The English sentence of ``code`` filled from ``params`` (KeyError: an unregistered code)."""
    return PROBLEMS[code].format(**params)


class Sentence(str):
    """A registry sentence as plain text (what a lower layer's exception message always was) that
    remembers its ``code`` and ``params`` for the API: ``raise PhoneError(sentence(...))``."""

    code: str
    params: dict[str, Param]


def sentence(code: str, **params: Param) -> Sentence:
    """The English sentence of ``code``, carrying the code and params (see :class:`Sentence`)."""
    text = Sentence(render(code, params))
    text.code, text.params = code, dict(params)
    return text


def explained(exc: BaseException, fallback: str) -> tuple[str, dict[str, Param]]:
    """The code and params of ``exc``'s message when it is a :class:`Sentence` (also as its
    ``sentence`` attribute), else ``fallback`` with the message as ``reason``."""
    for arg in (getattr(exc, "sentence", None), *exc.args):
        if isinstance(arg, Sentence):
            return arg.code, arg.params
    return fallback, {"reason": str(exc)}


class Problem(HTTPException):
    """A 4xx the server words itself; the API's exception handler adds ``code`` and ``params``.

    ``detail`` is what it always was: the sentence; with ``loc``, FastAPI's list of one
    ``{loc, msg, type, ctx}`` (``type``: the code, or ``item_type`` where clients know another);
    with ``problems``, ``{message, problems}`` (a flow's own error list).
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        params: Mapping[str, Param] | None = None,
        *,
        loc: list[Any] | None = None,
        item_type: str | None = None,
        problems: list[Any] | None = None,
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        params = dict(params or {})
        # ``message``: the text as a lower layer words it (e.g. prefixed with a bundle member's name).
        message = message if message is not None else render(code, params)
        detail: Any = message
        if loc is not None:
            detail = [{"loc": loc, "msg": message, "type": item_type or code, "ctx": dict(params)}]
        elif problems is not None:
            detail = {"message": message, "problems": problems}
        super().__init__(status_code, detail, headers)
        self.code = code
        self.params: dict[str, Param] = dict(params)

    def body(self) -> dict[str, Any]:
        """The JSON answer: ``detail`` plus ``code`` and ``params``."""
        return {"detail": self.detail, "code": self.code, "params": self.params}


def problem(status_code: int, code: str, **params: Param) -> Problem:
    """A 4xx whose detail is the sentence of ``code``."""
    return Problem(status_code, code, params)


def field_problem(
    loc: list[Any], code: str, status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT, **params: Param
) -> Problem:
    """A 4xx whose detail names the field at ``loc`` (e.g. ``["query", "cursor"]``)."""
    return Problem(status_code, code, params, loc=loc)


def forbidden_field(loc: list[Any], code: str, **params: Param) -> Problem:
    """A 403 naming the field at ``loc``; the item's ``type`` stays ``forbidden`` (clients check it)."""
    return Problem(status.HTTP_403_FORBIDDEN, code, params, loc=loc, item_type="forbidden")


def combined(problems: list[Problem]) -> Problem:
    """One answer listing the field problems of ``problems`` (same status); ``code`` and ``params`` are
    the first one's, each item keeps its own ``type`` and ``ctx``."""
    first = problems[0]
    items: Any = [item for each in problems for item in each.detail]
    first.detail = items
    return first


def invalid(code: str, **params: Param) -> PydanticCustomError:
    """For a validator to raise: a validation error of type ``code`` with ``params`` as its ``ctx``."""
    if code not in PROBLEMS:
        raise KeyError(code)
    return PydanticCustomError(code, PROBLEMS[code], dict(params))
