"""Fixtures for the attack tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.tenants import Tenant, light_console, make_tenants
from tests.service.conftest import factory, server, sqlite_db  # noqa: F401  (the service fixtures)
from tests.service.helpers import Server, run_server
from waihu.service.settings import Settings


@pytest.fixture
def workdir(tmp_path: Path) -> Callable[[str], Path]:
    """Make a sub-directory of tmp_path (each peer gets its own working directory)."""

    def make(name: str) -> Path:
        d = tmp_path / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    return make


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A live API server with the production defaults (no webhook allow-list, metrics need a key)."""
    db = tmp_path_factory.mktemp("strict") / "waihu.db"
    with run_server(Settings(database_url=f"sqlite:///{db}", background=False)) as running:
        yield running


@pytest.fixture(scope="module")
def role_keys(strict_server: Server) -> dict[str, str]:
    """One key per role on :func:`strict_server`."""
    with strict_server.client() as admin:
        return {
            role: admin.post("/v1/keys", json={"name": f"{role} key", "role": role}).json()["key"]
            for role in ("strategy", "operator", "admin")
        }


@pytest.fixture(scope="module")
def tenant_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A live API server (production defaults) for the tenancy tests of one module."""
    db = tmp_path_factory.mktemp("tenants") / "waihu.db"
    with run_server(Settings(database_url=f"sqlite:///{db}", background=False)) as running:
        light_console(running)
        yield running


@pytest.fixture(scope="module")
def tenants(tenant_server: Server) -> tuple[Tenant, Tenant]:
    """Tenants ``bank-a`` (a flow, a campaign with a finished call, a seat, a DNC entry) and ``bank-b``."""
    return make_tenants(tenant_server)


def make_server(tmp_path: Path, **settings: Any) -> Any:
    """A context manager running a server on a fresh database with ``settings``."""
    return run_server(
        Settings(database_url=f"sqlite:///{tmp_path / 'waihu.db'}", background=False, **settings)
    )
