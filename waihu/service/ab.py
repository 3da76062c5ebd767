"""A/B split (AB分流): a campaign's variants, their weights, and which variant a contact gets.

A campaign's ``variants`` is a list of ``{"name", "weight", "flow_id", "flow_version", "flow_version_id",
"voice"}``. A contact is assigned at its first claim by hashing the campaign id and its ``reference_id``
onto [0, 1) and walking the cumulative weights: the same contact lands on the same variant whichever
worker claims it, and the assignment is stored on the contact so retries keep it even after an operator
shifts the weights (the new weights apply to contacts not yet called).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from waihu.service.models import Campaign

#: Names of variants: short, safe in URLs, CSV cells and metric labels.
VARIANT_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"


@dataclass(frozen=True)
class Assigned:
    """The variant a claimed contact runs: what the attempt row and the worker need."""

    name: str
    flow_id: str
    flow_version: int
    flow_version_id: int
    voice: str | None


def bucket(campaign_id: int, reference_id: str) -> float:
    """A uniform number in [0, 1) fixed by the campaign and the contact's reference id."""
    digest = hashlib.sha256(f"{campaign_id}\x00{reference_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(variants: Sequence[dict[str, Any]], point: float) -> dict[str, Any] | None:
    """The variant whose share of the cumulative weights holds ``point`` (0 ≤ point < 1)."""
    total = sum(float(v.get("weight", 0)) for v in variants)
    if total <= 0:
        return None
    target = point * total
    running = 0.0
    chosen = None
    for variant in variants:
        weight = float(variant.get("weight", 0))
        if weight <= 0:
            continue
        running += weight
        chosen = variant
        if target < running:
            break
    return chosen


def assign(campaign: Campaign, reference_id: str, current: str | None) -> Assigned | None:
    """The variant of a contact being claimed: the one it already has, else one picked by its hash.

    None when the campaign runs no variants.
    """
    variants = list(campaign.variants or [])
    if not variants:
        return None
    by_name = {v["name"]: v for v in variants}
    chosen = by_name.get(current) if current else None
    if chosen is None:
        chosen = pick(variants, bucket(campaign.id, reference_id))
    if chosen is None:  # every weight 0: the API refuses that, but never stop calling over it
        chosen = variants[0]
    return Assigned(
        name=chosen["name"],
        flow_id=chosen.get("flow_id") or campaign.flow_id,
        flow_version=int(chosen.get("flow_version") or campaign.flow_version),
        flow_version_id=int(chosen.get("flow_version_id") or campaign.flow_version_id),
        voice=chosen.get("voice"),
    )
