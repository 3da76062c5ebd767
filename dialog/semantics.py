"""Semantic checks of a schema-valid flow: references, reachability, coverage, variables, grading.

Each check returns ``(path, code, params, severity)`` (codes: :mod:`dialog.problem_codes`); the loader
turns the path into FILE:LINE:COL and the code into the English message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path

from dialog.problem_codes import ParamValue
from dialog.schema import (
    BUILTIN_INTENTS,
    FAQ_PREFIX,
    FETCH_END_STEPS,
    POST_CALL_VARIABLES,
    RESERVED_STEPS,
    Cell,
    FetchSpec,
    Flow,
)
from dialog.templates import TemplateError, placeholders
from dialog.yaml_positions import Path as YamlPath

#: ``(path, code, params, severity)``.
Finding = tuple[YamlPath, str, Mapping[str, ParamValue], str]


def _cells(flow: Flow) -> Iterator[tuple[YamlPath, Cell]]:
    """Every answer-table cell of the flow with its path."""
    for node_id, node in flow.nodes.items():
        for intent, cell in node.answers.items():
            yield ("nodes", node_id, "answers", intent), cell
    for intent, cell in flow.global_answers.items():
        yield ("global", intent), cell
    for kind in ("no_input", "no_match"):
        policy = getattr(flow.fallbacks, kind)
        if policy is not None:
            yield ("fallbacks", kind, "exhausted"), policy.exhausted


def _texts(flow: Flow) -> Iterator[tuple[YamlPath, str]]:
    """Every text the robot may say, with its path, for variable checks."""
    for node_id, node in flow.nodes.items():
        for index, prompt in enumerate(node.prompt):
            yield ("nodes", node_id, "prompt", index), prompt
        for index, text in enumerate(node.reask):
            yield ("nodes", node_id, "reask", index), text
    for path, cell in _cells(flow):
        for index, reply in enumerate(cell.reply):
            yield (*path, "reply", index), reply
    for index, entry in enumerate(flow.kb_entries):
        for answer_index, answer in enumerate(entry.answer):
            yield ("knowledge_base", index, "answer", answer_index), answer
    for kind in ("no_input", "no_match"):
        policy = getattr(flow.fallbacks, kind)
        if policy is not None:
            for index, reply in enumerate(policy.replies):
                yield ("fallbacks", kind, "replies", index), reply
    for index, reply in enumerate(flow.transfer.failed_reply):
        yield ("transfer", "failed_reply", index), reply
    for index, reply in enumerate(flow.settings.max_turns_reply):
        yield ("settings", "max_turns_reply", index), reply


def _check_node_ids(flow: Flow) -> Iterator[Finding]:
    for node_id in flow.nodes:
        if node_id in RESERVED_STEPS:
            yield ("nodes", node_id), "node_id_reserved", {"node": node_id}, "error"
    if flow.start not in flow.nodes:
        yield ("start",), "start_node_unknown", {"node": flow.start}, "error"


def _check_steps(flow: Flow) -> Iterator[Finding]:
    for path, cell in _cells(flow):
        if cell.next not in RESERVED_STEPS and cell.next not in flow.nodes:
            yield (
                (*path, "next"),
                "next_step_unknown",
                {"step": cell.next, "allowed": ", ".join(RESERVED_STEPS)},
                "error",
            )
        if path[0] == "fallbacks" and cell.next in ("stay", "repeat", "return"):
            yield (*path, "next"), "fallback_loops", {}, "error"
    for index, entry in enumerate(flow.kb_entries):
        if entry.then not in ("return", "hangup", "transfer", "stay") and entry.then not in flow.nodes:
            yield (
                ("knowledge_base", index, "then"),
                "kb_then_unknown",
                {"step": entry.then},
                "error",
            )
    on_failed = flow.transfer.on_failed
    if on_failed is not None and on_failed not in flow.nodes:
        yield ("transfer", "on_failed"), "transfer_on_failed_unknown", {"node": on_failed}, "error"


def _used_intents(flow: Flow) -> Iterator[tuple[YamlPath, str]]:
    for node_id, node in flow.nodes.items():
        for intent in node.answers:
            yield ("nodes", node_id, "answers", intent), intent
        for key, intent in node.dtmf.items():
            yield ("nodes", node_id, "dtmf", key), intent
    for intent in flow.global_answers:
        yield ("global", intent), intent
    for index, rule in enumerate(flow.grading.rules):
        for clause in ("intents_any", "intents_none"):
            for item_index, intent in enumerate(getattr(rule.when, clause)):
                yield ("grading", "rules", index, "when", clause, item_index), intent


def _check_intents(flow: Flow) -> Iterator[Finding]:
    kb_ids = {entry.id for entry in flow.kb_entries}
    used: set[str] = set()
    for path, intent in _used_intents(flow):
        used.add(intent)
        if intent in BUILTIN_INTENTS:
            continue
        if intent.startswith(FAQ_PREFIX):
            if intent.removeprefix(FAQ_PREFIX) not in kb_ids:
                yield path, "faq_entry_unknown", {"intent": intent}, "error"
            continue
        if intent not in flow.intents:
            yield path, "intent_undefined", {"intent": intent}, "error"
    for name, definition in flow.intents.items():
        if name in BUILTIN_INTENTS or name.startswith(FAQ_PREFIX):
            yield ("intents", name), "intent_builtin_defined", {"intent": name}, "error"
        elif not definition.examples:
            yield ("intents", name), "intent_without_examples", {"intent": name}, "error"
        elif name not in used:
            yield (
                ("intents", name),
                "intent_unused",
                {"intent": name},
                "warning",
            )


def _check_keywords(flow: Flow) -> Iterator[Finding]:
    """Keywords shared by two intents, or changed by normalisation, never do what the author meant."""
    from nlu.normalize import normalize  # dialog stays importable without nlu for pure use

    owners: dict[str, str] = {}
    sources: list[tuple[tuple[str, str | int], str, str, list[str]]] = []
    for field in ("keywords", "exact_keywords"):  # an exact-only keyword is checked like the others
        sources += [(("intents", name), name, field, getattr(d, field)) for name, d in flow.intents.items()]
        sources += [
            (("knowledge_base", i), FAQ_PREFIX + e.id, field, getattr(e, field))
            for i, e in enumerate(flow.kb_entries)
        ]
    for path, owner, field, keywords in sources:
        for index, keyword in enumerate(keywords):
            normalized = normalize(keyword)
            where = (*path, field, index)
            if normalized != keyword.lower() and normalized.replace(" ", "") != keyword.lower().replace(
                " ", ""
            ):
                yield (
                    where,
                    "keyword_normalised",
                    {"keyword": repr(keyword), "normalized": repr(normalized)},
                    "warning",
                )
            other = owners.setdefault(normalized, owner)
            if other != owner:
                params = {"keyword": repr(keyword), "owner": owner, "other": other}
                yield where, "keyword_shared", params, "warning"


def _check_kb(flow: Flow) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for index, entry in enumerate(flow.kb_entries):
        if entry.id in seen:
            yield (
                ("knowledge_base", index, "id"),
                "kb_id_duplicated",
                {"id": entry.id, "first": seen[entry.id] + 1},
                "error",
            )
        else:
            seen[entry.id] = index
        if not entry.questions:
            yield (
                ("knowledge_base", index),
                "kb_entry_without_questions",
                {"id": entry.id},
                "error",
            )


def _check_coverage(flow: Flow) -> Iterator[Finding]:
    defaults = {"no_match": flow.fallbacks.no_match, "no_input": flow.fallbacks.no_input}
    for node_id, node in flow.nodes.items():
        if node.fetch is not None:
            continue  # a fetch node never listens: its branches are checked by _check_fetch
        if node.then != "listen":
            if node.answers:
                yield (
                    ("nodes", node_id, "answers"),
                    "answers_never_used",
                    {"node": node_id, "then": node.then},
                    "warning",
                )
            continue
        for event in BUILTIN_INTENTS:
            if event not in node.answers and event not in flow.global_answers and defaults[event] is None:
                yield (
                    ("nodes", node_id),
                    "event_unhandled",
                    {"node": node_id, "event": event},
                    "error",
                )


def _check_reachability(flow: Flow) -> Iterator[Finding]:
    if flow.start not in flow.nodes:
        return
    edges: dict[str, set[str]] = {node_id: set() for node_id in flow.nodes}
    everywhere: set[str] = {cell.next for _path, cell in _cells(flow) if _path[0] != "nodes"}
    everywhere |= {entry.then for entry in flow.kb_entries}
    if flow.transfer.on_failed:
        everywhere.add(flow.transfer.on_failed)
    for node_id, node in flow.nodes.items():
        edges[node_id] = {cell.next for cell in node.answers.values()} | everywhere
        if node.fetch is not None:  # it never listens: only its three branches leave it
            edges[node_id] = set(_fetch_targets(node.fetch).values())
    reached = {flow.start}
    queue = deque([flow.start])
    while queue:
        for target in edges[queue.popleft()]:
            if target in flow.nodes and target not in reached:
                reached.add(target)
                queue.append(target)
    for node_id in flow.nodes:
        if node_id not in reached:
            yield (
                ("nodes", node_id),
                "node_unreachable",
                {"node": node_id, "start": flow.start},
                "error",
            )


def _check_variables(flow: Flow) -> Iterator[Finding]:
    for path, text in _texts(flow):
        try:
            names = placeholders(text)
        except TemplateError as exc:
            yield path, exc.code, exc.params, "error"
            continue
        for name in names:
            if name not in flow.variables:
                yield path, "variable_undeclared", {"name": name}, "error"


def _check_audio(flow: Flow, base_dir: Path | None) -> Iterator[Finding]:
    for node_id, node in flow.nodes.items():
        path = ("nodes", node_id, "audio")
        if node.audio is None:
            continue
        recordings = node.audio if isinstance(node.audio, dict) else {node.prompt[0]: node.audio}
        if isinstance(node.audio, str) and placeholders(node.prompt[0]):
            yield (
                path,
                "recording_with_variables",
                {},
                "error",
            )
        for fragment, wav in recordings.items():
            if isinstance(node.audio, dict):
                if fragment not in node.prompt[0]:
                    yield (
                        (*path, fragment),
                        "fragment_not_in_prompt",
                        {"fragment": repr(fragment)},
                        "error",
                    )
                elif placeholders(fragment):
                    yield (*path, fragment), "fragment_has_variable", {"fragment": repr(fragment)}, "error"
            if base_dir is not None and not (base_dir / wav).is_file():
                yield (
                    (*path, fragment) if isinstance(node.audio, dict) else path,
                    "audio_file_not_found",
                    {"file": wav},
                    "error",
                )


def _check_grading(flow: Flow) -> Iterator[Finding]:
    grading = flow.grading
    grades = set(grading.grades)
    if len(grades) != len(grading.grades):
        yield ("grading", "grades"), "grades_duplicated", {}, "error"
    if grading.default not in grades:
        yield (
            ("grading", "default"),
            "default_grade_unknown",
            {"grade": grading.default, "grades": str(grading.grades)},
            "error",
        )
    tags_set = {tag for node in flow.nodes.values() for tag in node.tags}
    tags_set |= {tag for _path, cell in _cells(flow) for tag in cell.tags}
    tags_set |= {tag for entry in flow.kb_entries for tag in entry.tags}
    for index, rule in enumerate(grading.rules):
        path = ("grading", "rules", index)
        if rule.grade not in grades:
            params = {"grade": rule.grade, "grades": str(grading.grades)}
            yield (*path, "grade"), "grade_unknown", params, "error"
        for clause in ("reached_any", "reached_all", "not_reached"):
            for item_index, node_id in enumerate(getattr(rule.when, clause)):
                if node_id not in flow.nodes:
                    where = (*path, "when", clause, item_index)
                    yield where, "node_undefined", {"node": node_id}, "error"
        for clause in ("tags_any", "tags_all", "tags_none"):
            for item_index, tag in enumerate(getattr(rule.when, clause)):
                if tag not in tags_set:
                    yield (
                        (*path, "when", clause, item_index),
                        "tag_never_set",
                        {"tag": tag},
                        "warning",
                    )


def _check_post_call(flow: Flow) -> Iterator[Finding]:
    """Post-call actions: distinct names, known grades, templates naming declared or result variables."""
    seen: set[str] = set()
    known = set(flow.variables) | set(POST_CALL_VARIABLES)
    for index, action in enumerate(flow.post_call):
        path = ("post_call", index)
        if action.name in seen:
            yield (*path, "name"), "post_call_duplicated", {"name": action.name}, "error"
        seen.add(action.name)
        for grade_index, grade in enumerate(action.when.grades):
            if grade not in flow.grading.grades:
                where = (*path, "when", "grades", grade_index)
                yield where, "grade_unknown", {"grade": grade, "grades": str(flow.grading.grades)}, "error"
        try:
            names = placeholders(action.template)
        except TemplateError as exc:
            yield (*path, "template"), exc.code, exc.params, "error"
            continue
        for name in names:
            if name not in known:
                params = {"name": name, "allowed": ", ".join(POST_CALL_VARIABLES)}
                yield (*path, "template"), "post_call_variable_unknown", params, "error"


def _fetch_targets(spec: FetchSpec) -> dict[str, str]:
    return {"on_success": spec.on_success, "on_timeout": spec.on_timeout, "on_error": spec.on_error}


def _check_fetch_url(flow: Flow, path: YamlPath, url: str) -> Iterator[Finding]:
    where = (*path, "url")
    try:
        names = placeholders(url)
    except TemplateError as exc:
        yield where, exc.code, exc.params, "error"
        return
    scheme, _sep, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not rest:
        yield where, "url_scheme", {"url": repr(url)}, "error"
        return
    host = rest.split("/", 1)[0].split("?", 1)[0]
    if "{" in host or not host:
        yield where, "url_host_templated", {}, "error"
    for name in names:
        if name not in flow.variables:
            yield where, "url_variable_undeclared", {"name": name}, "error"


def _spoken_variables(flow: Flow) -> set[str]:
    names: set[str] = set()
    for _path, text in _texts(flow):
        try:
            names.update(placeholders(text))
        except TemplateError:
            continue
    return names


def _check_fetch(flow: Flow) -> Iterator[Finding]:
    """Fetch nodes: an http(s) URL of known variables, declared and used mapped variables, real branches."""
    spoken = _spoken_variables(flow) | {
        name for node in flow.nodes.values() if node.fetch for name in _placeholders_safe(node.fetch.url)
    }
    for node_id, node in flow.nodes.items():
        spec = node.fetch
        if spec is None:
            continue
        path = ("nodes", node_id, "fetch")
        yield from _check_fetch_url(flow, path, spec.url)
        for variable in spec.map:
            where = (*path, "map", variable)
            if variable not in flow.variables:
                yield where, "mapped_variable_undeclared", {"variable": variable}, "error"
            elif variable not in spoken:
                yield where, "mapped_variable_unused", {"variable": variable}, "warning"
        for branch, target in _fetch_targets(spec).items():
            if target not in flow.nodes and target not in FETCH_END_STEPS:
                params = {"branch": branch, "target": target, "allowed": ", ".join(FETCH_END_STEPS)}
                yield (*path, branch), "fetch_branch_unknown", params, "error"
            elif target == node_id:
                yield (*path, branch), "fetch_branch_self", {"branch": branch}, "error"
    yield from _check_fetch_loops(flow)


def _placeholders_safe(template: str) -> list[str]:
    """Placeholders of ``template``, or none when it is malformed (reported elsewhere)."""
    try:
        return placeholders(template)
    except TemplateError:
        return []


def _check_fetch_loops(flow: Flow) -> Iterator[Finding]:
    """Fetch nodes leading only to fetch nodes in a circle would fetch forever without a word said."""
    fetch_nodes = {node_id: node.fetch for node_id, node in flow.nodes.items() if node.fetch is not None}
    reported: set[str] = set()
    for start in fetch_nodes:
        stack, seen = [start], set()
        while stack:
            current = stack.pop()
            spec = fetch_nodes.get(current)
            if spec is None or current in seen:
                continue
            seen.add(current)
            for target in _fetch_targets(spec).values():
                if target == start and start not in reported and target != current:
                    reported.add(start)
                    yield ("nodes", start, "fetch"), "fetch_loop", {"node": start}, "error"
                stack.append(target)


def check_semantics(flow: Flow, base_dir: Path | None = None) -> list[Finding]:
    """All semantic findings for ``flow``; ``base_dir`` resolves recorded-audio paths."""
    findings: list[Finding] = []
    for check in (
        _check_node_ids,
        _check_steps,
        _check_intents,
        _check_kb,
        _check_keywords,
        _check_coverage,
        _check_reachability,
        _check_variables,
        _check_grading,
        _check_post_call,
        _check_fetch,
    ):
        findings.extend(check(flow))
    findings.extend(_check_audio(flow, base_dir))
    return findings
