"""The HTTP API for strategy systems, operators and admins: :func:`create_app`."""

from __future__ import annotations

from waihu.service.api.app import create_app

__all__ = ["create_app"]
