"""The HTTP API for strategy systems, operators and admins: :func:`create_api`."""

from __future__ import annotations

from waihu.service.api.app import create_api

__all__ = ["create_api"]
