"""Tenants: every API key belongs to one (a strategy system or a business unit) and sees only its data.

A tenant is a name, not a row: it exists once a key names it. Campaigns (with their contacts, attempts
and webhook events), flow versions, seats and block-list entries carry the tenant of the key that made
them; the global block list is the entries with no tenant. Another tenant's resource answers 404, the
same as one that does not exist, so a key cannot even learn that it exists.
"""

from __future__ import annotations

import re

from waihu.service.models import DEFAULT_TENANT, TENANT_CHARS, ApiKey

__all__ = ["DEFAULT_TENANT", "TENANT_PATTERN", "TenantError", "check_tenant", "is_platform_admin"]

#: Lower-case letters, digits, ``_``, ``-`` and ``.``; starts with a letter or digit.
TENANT_PATTERN = rf"^[a-z0-9][a-z0-9_.-]{{0,{TENANT_CHARS - 1}}}$"
_TENANT_RE = re.compile(TENANT_PATTERN)


class TenantError(ValueError):
    """Not a usable tenant name."""


def check_tenant(name: str) -> str:
    """``name`` if it is a valid tenant name, else :class:`TenantError` saying what is allowed."""
    if not _TENANT_RE.fullmatch(name):
        raise TenantError(
            f"tenant must be 1-{TENANT_CHARS} characters: lower-case letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


def is_platform_admin(key: ApiKey) -> bool:
    """Whether ``key`` may manage the global block list and keys of every tenant."""
    return key.role == "admin" and bool(key.platform_admin)
