"""Live data during a call: carry out the engine's :class:`~dialog.actions.FetchData`.

A *fetcher* answers one request (``ok`` with the JSON document, ``timeout`` or ``error``); this module
adds the retries and the mapping (:func:`dialog.live_data.map_answer`) and turns the outcome into the
engine's :class:`~dialog.events.DataFetched`. The real fetcher (HTTP, signed, SSRF-guarded) is in
:mod:`waihu.live_data_http`; flow tests and the simulator use :class:`FixtureFetcher`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialog.actions import FetchData
from dialog.events import DataFetched
from dialog.live_data import MappingError, map_answer

log = logging.getLogger(__name__)

Status = Literal["ok", "timeout", "error"]


@dataclass(frozen=True)
class FetchAnswer:
    """What one try returned: the parsed JSON document when ``ok``, else why not."""

    status: Status
    document: Any = None
    detail: str = ""


class Fetcher(Protocol):
    """Sends one live-data request (no retries, no mapping: :func:`fetch_data` does those)."""

    def fetch(self, request: FetchData) -> FetchAnswer:
        """Try ``request`` once within its timeout."""
        ...


class UnavailableFetcher:
    """The fetcher of a driver that was given none: every fetch takes the error branch."""

    def fetch(self, request: FetchData) -> FetchAnswer:
        """Refuse: no live-data source is configured."""
        return FetchAnswer("error", detail="no live-data fetcher configured")


class FetchFixture(BaseModel):
    """A declared answer of a fetch node in flow tests and the simulator (no network)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    status: Status = "ok"
    #: ``json:`` in YAML (the attribute name avoids shadowing ``BaseModel.json``).
    json_body: Any = Field(default=None, alias="json")


class FixtureFetcher:
    """Answers each fetch node from its fixture; a node without one is an error (and remembered)."""

    def __init__(self, fixtures: Mapping[str, FetchFixture]) -> None:
        self.fixtures = dict(fixtures)
        self.unknown: list[str] = []

    def fetch(self, request: FetchData) -> FetchAnswer:
        """The fixture of ``request.node``."""
        fixture = self.fixtures.get(request.node)
        if fixture is None:
            self.unknown.append(request.node)
            return FetchAnswer("error", detail=f"no fixture for fetch node {request.node!r}")
        return FetchAnswer(fixture.status, fixture.json_body, "" if fixture.status == "ok" else "fixture")


def load_fixtures(path: Path) -> dict[str, FetchFixture]:
    """Fixtures from a YAML file: a flow test file's ``fixtures:`` or a bare ``node: fixture`` mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read fixtures: {exc}") from exc
    if isinstance(data, dict) and "cases" in data:
        data = data.get("fixtures") or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: fixtures must map fetch node ids to answers")
    try:
        return {str(node): FetchFixture.model_validate(value) for node, value in data.items()}
    except ValidationError as exc:
        raise ValueError(f"{path}: invalid fixture: {exc}") from exc


def fetch_data(fetcher: Fetcher, request: FetchData) -> DataFetched:
    """Try ``request`` (1 + retries times until an answer), map the document, report to the engine."""
    answer = FetchAnswer("error", detail="not tried")
    for attempt in range(1 + request.retries):
        answer = fetcher.fetch(request)
        if answer.status == "ok":
            break
        log.info("fetch for node %s try %d: %s %s", request.node, attempt + 1, answer.status, answer.detail)
    if answer.status != "ok":
        return DataFetched(answer.status, detail=answer.detail)
    try:
        values = map_answer(answer.document, request.map)
    except MappingError as exc:
        log.warning("fetch for node %s: %s", request.node, exc)
        return DataFetched("error", detail=str(exc))
    return DataFetched("ok", values)
