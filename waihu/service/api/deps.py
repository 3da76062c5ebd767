"""Request dependencies: a database session per request and bearer-key authentication with roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from waihu.service.apikeys import authenticate
from waihu.service.key_use import KeyUseRecorder
from waihu.service.models import ApiKey
from waihu.service.problems import Problem, problem
from waihu.service.settings import Settings

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer whk_<id>.<secret>`")


@dataclass
class ServiceState:
    """What the app holds: settings, engine, session factory and the key-use recorder."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    key_use: KeyUseRecorder | None = None

    def __post_init__(self) -> None:
        if self.key_use is None:
            self.key_use = KeyUseRecorder(self.engine)


def service_state(request: Request) -> ServiceState:
    """The app's :class:`ServiceState`."""
    return request.app.state.service


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request; committed by the endpoints that write, closed afterwards."""
    with service_state(request).factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[ServiceState, Depends(service_state)]


def _unauthorised(code: str) -> Problem:
    return Problem(status.HTTP_401_UNAUTHORIZED, code, headers={"WWW-Authenticate": "Bearer"})


def require(*roles: str) -> Callable[..., Any]:
    """A dependency that authenticates the key and admits ``roles`` (admin is always admitted)."""
    admitted = {*roles, "admin"}

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ApiKey:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _unauthorised("api_key_missing")
        state = service_state(request)
        # A session of its own, closed before the endpoint's session starts: the endpoint's transaction
        # then begins after the last_used_at write, never on a snapshot that write made stale.
        with state.factory() as session:
            key = authenticate(session, credentials.credentials)
        if key is None:
            raise _unauthorised("api_key_invalid")
        if state.key_use is not None:
            state.key_use.record(key)  # own short transaction; skipped, never failing, when locked
        if key.role not in admitted:
            raise problem(
                status.HTTP_403_FORBIDDEN, "role_forbidden", role=key.role, needs=", ".join(sorted(admitted))
            )
        return key

    return dependency


Strategy = Annotated[ApiKey, Depends(require("strategy"))]
Operator = Annotated[ApiKey, Depends(require("operator"))]
Admin = Annotated[ApiKey, Depends(require())]
AnyRole = Annotated[ApiKey, Depends(require("strategy", "operator"))]
SeatManager = Annotated[ApiKey, Depends(require("operator"))]
