"""/v1/campaigns/{id}/variants: the A/B split of a campaign — define, shift weights, compare.

Variants are defined before the first call (the assignment of contacts depends on them); weights may
shift at any time while the campaign runs and apply to contacts not called yet (a contact keeps the
variant of its first call). The comparison answers per variant with a significance test and a verdict.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import exists, select

from waihu.service.ab import VARIANT_NAME_PATTERN
from waihu.service.ab_stats import compare_variants
from waihu.service.api.campaign_settings import save_setting
from waihu.service.api.deps import AnyRole, SessionDep
from waihu.service.api.errors import conflict, field_error
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.api.scope import campaign_of
from waihu.service.models import Attempt, Campaign, FlowVersion
from waihu.service.outcomes import TERMINAL_STATES
from waihu.service.problems import invalid
from waihu.service.views import OpenModel

router = APIRouter(prefix="/v1/campaigns", tags=["A/B split"], responses=errors(*AUTH, 404, 422))
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Weight = Annotated[float, Field(ge=0, le=1_000_000)]


class VariantSpec(BaseModel):
    """One variant: a flow version and/or a voice, with a weight (relative share of new contacts)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=VARIANT_NAME_PATTERN, description="e.g. `A`, `B`, `short-intro`.")
    weight: Weight = 1.0
    flow_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="Default: the campaign's."
    )
    flow_version: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="Default: the campaign's version (same flow) or the latest.",
    )
    voice: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="A TTS voice name (Kokoro), e.g. `zf_xiaoxiao`.",
    )


class VariantsUpdate(BaseModel):
    """The campaign's variants (2 to 10, distinct names, at least one positive weight)."""

    model_config = ConfigDict(extra="forbid")

    variants: list[VariantSpec] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _check(self) -> VariantsUpdate:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise invalid("variant_names_not_distinct")
        if not any(v.weight > 0 for v in self.variants):
            raise invalid("no_positive_weight")
        return self


class WeightsUpdate(BaseModel):
    """New weights by variant name; variants left out keep theirs."""

    model_config = ConfigDict(extra="forbid")

    weights: dict[str, Weight] = Field(min_length=1, max_length=10)


def _resolve(session: SessionDep, campaign: Campaign, index: int, spec: VariantSpec) -> dict[str, Any]:
    flow_id = spec.flow_id or campaign.flow_id
    version = spec.flow_version
    if version is None and flow_id == campaign.flow_id:
        version = campaign.flow_version
    query = select(FlowVersion).where(FlowVersion.tenant == campaign.tenant, FlowVersion.flow_id == flow_id)
    if version is not None:
        query = query.where(FlowVersion.version == version)
    row = session.scalars(query.order_by(FlowVersion.version.desc())).first()
    if row is None:
        if version is not None:
            loc = ["body", "variants", index, "flow_version"]
            raise field_error(loc, "flow_has_no_version", flow=flow_id, version=version)
        raise field_error(["body", "variants", index, "flow_id"], "variant_flow_not_found", flow=flow_id)
    return {
        "name": spec.name,
        "weight": spec.weight,
        "flow_id": row.flow_id,
        "flow_version": row.version,
        "flow_version_id": row.id,
        "voice": spec.voice,
    }


class VariantPublic(OpenModel):
    """A variant as it runs: the flow version it resolved to, its voice and weight."""

    name: str
    weight: float
    flow_id: str
    flow_version: int
    voice: str | None


class VariantsPublic(OpenModel):
    """A campaign's variants (an empty list: no A/B split)."""

    campaign_id: int
    variants: list[VariantPublic]


class VariantResult(OpenModel):
    """One variant's figures: contacts, calls, answers, talk time, grades and conversions."""

    variant: str
    weight: float | None
    contacts: int
    called: int
    answered: int
    answer_rate: float
    avg_talk_s: float
    grades: dict[str, int]
    converted: int
    conversion_rate: float


class VariantsComparison(OpenModel):
    """Per-variant figures, the significance test and its verdict (English and Chinese)."""

    campaign_id: int
    conversion: dict[str, str] = Field(description="`{grade: A}` or `{tag: <conversion_tag>}`.")
    variants: list[VariantResult]
    test: dict[str, Any] = Field(description="name, statistic, df, p_value, reliable, alpha.")
    winner: str | None
    verdict: str
    verdict_zh: str


def _view(campaign: Campaign) -> dict[str, Any]:
    variants = [
        {k: v for k, v in variant.items() if k != "flow_version_id"} for variant in campaign.variants or []
    ]
    return {"campaign_id": campaign.id, "variants": variants}


@router.get(
    "/{campaign_id}/variants",
    summary="The campaign's A/B variants and weights",
    response_model=VariantsPublic,
)
def get_variants(campaign_id: CampaignId, session: SessionDep, key: AnyRole) -> VariantsPublic:
    """Variants with their flow version, voice and weight (an empty list: no A/B split)."""
    return VariantsPublic.model_validate(_view(campaign_of(session, key, campaign_id)))


@router.put(
    "/{campaign_id}/variants",
    summary="Define the campaign's A/B variants",
    response_model=VariantsPublic,
    responses=errors(*JSON_BODY, 409),
)
def put_variants(
    campaign_id: CampaignId, body: VariantsUpdate, session: SessionDep, key: AnyRole
) -> VariantsPublic:
    """Set 2–10 variants before the first call (409 once a contact has been called)."""
    campaign = campaign_of(session, key, campaign_id)
    if session.scalar(select(exists().where(Attempt.campaign_id == campaign.id))):
        raise conflict("variants_locked", campaign=campaign_id)
    before = _view(campaign)
    campaign.variants = [_resolve(session, campaign, i, spec) for i, spec in enumerate(body.variants)]
    save_setting(session, key, campaign, "campaign.variants", before, _view(campaign))
    return VariantsPublic.model_validate(_view(campaign))


@router.patch(
    "/{campaign_id}/variants",
    summary="Shift the A/B weights mid-campaign",
    response_model=VariantsPublic,
    responses=errors(*JSON_BODY, 409),
)
def patch_weights(
    campaign_id: CampaignId, body: WeightsUpdate, session: SessionDep, key: AnyRole
) -> VariantsPublic:
    """New weights apply to contacts not called yet; called contacts keep their variant."""
    campaign = campaign_of(session, key, campaign_id)
    if campaign.state in TERMINAL_STATES:
        raise conflict("campaign_finished", campaign=campaign_id, state=campaign.state)
    variants = [dict(v) for v in campaign.variants or []]
    known = {v["name"] for v in variants}
    if not variants:
        raise field_error(["body", "weights"], "no_variants")
    for name in body.weights:
        if name not in known:
            raise field_error(
                ["body", "weights", name], "variant_unknown", name=name, variants=", ".join(sorted(known))
            )
    for variant in variants:
        variant["weight"] = body.weights.get(variant["name"], variant["weight"])
    if not any(float(v["weight"]) > 0 for v in variants):
        raise field_error(["body", "weights"], "no_positive_weight")
    before = _view(campaign)
    campaign.variants = variants  # a new list: the JSON column sees the change
    save_setting(session, key, campaign, "campaign.weights", before, _view(campaign))
    return VariantsPublic.model_validate(_view(campaign))


@router.get(
    "/{campaign_id}/variants/comparison",
    summary="Compare the A/B variants",
    response_model=VariantsComparison,
)
def comparison(
    campaign_id: CampaignId,
    session: SessionDep,
    key: AnyRole,
    conversion_tag: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="Count a contact with this tag as converted."),
    ] = None,
) -> VariantsComparison:
    """Per variant: contacts, answer rate, average talk time, grade mix, conversion (grade A or the tag);
    a two-proportion z-test (two variants) or chi-squared test (more), its p-value and a verdict."""
    return VariantsComparison.model_validate(
        compare_variants(session, campaign_of(session, key, campaign_id), conversion_tag)
    )
