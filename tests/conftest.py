"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"

MINIMAL_FLOW = """\
flow:
  id: mini
  name: Mini
  language: zh
  version: 1
variables:
  name: {default: 客户}
start: ask
nodes:
  ask:
    prompt: ["{name}您好，需要办理吗？", 请问需要办理吗？]
    answers:
      affirm: {reply: 好的, tags: [yes], goto: done}
      deny: {tags: [no], next: bye}
  done:
    prompt: 已为您办理，再见。
    then: hangup
  bye:
    prompt: 好的，再见。
    then: hangup
global:
  repeat: repeat
  busy: {reply: 那不打扰了, next: hangup}
intents:
  affirm: {examples: [好的, 可以], keywords: [好, 可以]}
  deny: {examples: [不要, 不用了], keywords: [不要, 不用]}
  repeat: {examples: [再说一遍], keywords: [什么, 再说]}
  busy: {examples: [在忙], keywords: [忙]}
knowledge_base:
  - id: fee
    questions: [多少钱]
    keywords: [钱, 费用]
    answer: 免费的。
fallbacks:
  no_input: {replies: [喂？], max_per_node: 1, max_per_call: 2, exhausted: {reply: 再见, next: hangup}}
  no_match: {replies: [没听清。], max_per_node: 1, max_per_call: 2, exhausted: {reply: 再见, next: hangup}}
grading:
  rules:
    - {grade: A, when: {reached_any: [done]}}
    - {grade: D, when: {tags_any: ["no"]}}
  default: C
"""


@pytest.fixture
def minimal_flow_text() -> str:
    """A small valid flow, the base for mutation tests."""
    return MINIMAL_FLOW


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under ``CI=true`` a skipped test fails: missing data or a missing tool is a broken set-up."""
    outcome = yield
    report = outcome.get_result()
    if _ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (data or tool missing): {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):  # type: ignore[no-untyped-def]
    """Under ``CI=true`` a module skipped at import (``importorskip``) fails too."""
    outcome = yield
    report = outcome.get_result()
    if _ci() and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"module skipped under CI=true (dependency missing): {report.longrepr}"


#: Test modules (path prefixes under tests/) and the heavy part each needs; the rest is the fast
#: ``unit`` tier (``make test-fast``). A test may also carry its marker explicitly.
HEAVY: tuple[tuple[str, str], ...] = (
    ("telephony/", "sip"),
    ("security/test_sip_", "sip"),
    ("console/", "browser"),
    ("service/test_service_postgres", "postgres"),
    ("asr/", "models"),
    ("nlu/", "models"),
    ("tts/test_tts_espeak", "models"),
    ("tts/test_kokoro", "models"),
    ("voice/test_voice_loop", "models"),
    ("test_models_cli", "models"),
    ("test_nlu_cli", "models"),
    ("test_shipped_flows", "models"),
    ("service/test_service_worker", "sip"),
    ("service/test_service_schemathesis", "models"),
    ("tts/test_tts_intelligibility", "models"),
    ("service/test_service_scale", "slow"),
    ("security/test_sqlite_contention", "slow"),
)
TIERS = ("unit", "sip", "models", "postgres", "browser", "slow")
#: Words in a test's name that put it in a heavy tier wherever its module is.
HEAVY_NAMES: tuple[tuple[str, str], ...] = (("postgres", "postgres"), ("processes", "slow"))


def _module_tier(relative: str) -> str:
    """The tier of a test module (or folder, with a trailing ``/``) by its path under tests/."""
    return next((marker for prefix, marker in HEAVY if relative.startswith(prefix)), "unit")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m unit`` (``make test-fast``) the heavy tiers' modules and folders are not even
    imported: their imports (torch, playwright, pjsua2, …) would cost every xdist worker seconds.
    Sound because a test in a heavy module is never ``unit`` (checked below at full collection)."""
    if config.getoption("markexpr", "") != "unit":
        return None
    tests_dir = Path(__file__).resolve().parent
    try:
        relative = collection_path.resolve().relative_to(tests_dir).as_posix()
    except ValueError:  # outside tests/
        return None
    if collection_path.is_dir():
        relative += "/"
    return True if _module_tier(relative) != "unit" else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test a tier marker: explicit ones win, else by module, else ``unit``."""
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        relative = Path(str(item.fspath)).resolve().relative_to(tests_dir).as_posix()
        if item.get_closest_marker("unit") and _module_tier(relative) != "unit":
            raise pytest.UsageError(f"{item.nodeid}: a module of a heavy tier cannot hold a unit test")
        if any(item.get_closest_marker(tier) for tier in TIERS):
            continue
        tier = _module_tier(relative)
        if tier == "unit":  # e.g. ..._holds_with_worker_processes_on_postgres in a service module
            tier = next((marker for word, marker in HEAVY_NAMES if word in item.name), "unit")
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(autouse=True)
def _fresh_environment() -> Iterator[None]:
    """Each test reads the ``WAIHU_*`` variables afresh; one that sets a variable mid-test calls
    ``waihu_env.reload_environment()``."""
    from waihu_env import environment

    environment.cache_clear()
    yield
    environment.cache_clear()
