"""A/B split: significance maths, deterministic assignment, the scheduler keeping a contact's variant,
weights shifted mid-campaign, and the variants API with its comparison over real HTTP."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import (
    ALL_DAY,
    MONDAY_10_SHANGHAI,
    Server,
    add_contacts,
    flow_row,
    graded_call,
    make_campaign,
    strategy_and_operator,
)
from waihu.call_record import CallRecord
from waihu.service.ab import bucket, pick
from waihu.service.db import open_database
from waihu.service.models import Attempt, Campaign, Contact, WebhookEvent
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.significance import chi2_sf, chi_squared, two_proportion_z

YAML = {"Content-Type": "application/yaml"}
FLOW_V2 = MINIMAL_FLOW.replace("需要办理吗？", "现在办理有优惠，需要吗？", 1)


# ---------------------------------------------------------------- significance


@pytest.mark.parametrize("x", [0.01, 0.3, 1.0, 2.5, 3.841458820694124, 7.0, 15.0, 40.0])
def test_chi2_sf_matches_closed_forms(x: float) -> None:
    assert chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-9)
    assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-9)
    assert chi2_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-9)


def test_critical_values_give_five_percent() -> None:
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, abs=1e-9)
    assert chi2_sf(7.814727903251178, 3) == pytest.approx(0.05, abs=1e-9)
    assert chi2_sf(0.0, 3) == 1.0


def test_z_test_agrees_with_chi_squared_on_two_groups() -> None:
    z = two_proportion_z(45, 100, 30, 100)
    assert z.statistic == pytest.approx(2.1909, abs=1e-4) and z.p_value == pytest.approx(0.02846, abs=1e-4)
    chi = chi_squared([(45, 100), (30, 100)])
    assert chi.statistic == pytest.approx(z.statistic**2) and chi.p_value == pytest.approx(z.p_value)
    assert z.reliable and not two_proportion_z(1, 10, 2, 10).reliable
    assert two_proportion_z(0, 0, 3, 10).p_value == 1.0


# ---------------------------------------------------------------- assignment


def test_assignment_is_deterministic_and_follows_weights() -> None:
    variants = [{"name": "A", "weight": 1}, {"name": "B", "weight": 3}, {"name": "off", "weight": 0}]
    refs = [f"cust-{i}" for i in range(8000)]
    first = [pick(variants, bucket(7, ref))["name"] for ref in refs]  # type: ignore[index]
    assert first == [pick(variants, bucket(7, ref))["name"] for ref in refs]  # type: ignore[index]
    share_b = first.count("B") / len(first)
    assert 0.72 < share_b < 0.78 and "off" not in first
    other_campaign = [pick(variants, bucket(8, ref))["name"] for ref in refs]  # type: ignore[index]
    assert other_campaign != first  # each campaign splits independently
    assert pick([{"name": "A", "weight": 0}], 0.5) is None


# ---------------------------------------------------------------- scheduler


def _two_variant_campaign(session: Session) -> Campaign:
    v1 = flow_row(session)
    v2 = flow_row(session, FLOW_V2)
    assert (v1.version, v2.version) == (1, 2)
    variants = [
        {
            "name": "A",
            "weight": 1,
            "flow_id": "mini",
            "flow_version": 1,
            "flow_version_id": v1.id,
            "voice": None,
        },
        {
            "name": "B",
            "weight": 1,
            "flow_id": "mini",
            "flow_version": 2,
            "flow_version_id": v2.id,
            "voice": "zf_x",
        },
    ]
    return make_campaign(session, variants=variants, flow_version_id=v1.id, flow_version=1, concurrency=1000)


def test_scheduler_assigns_variants_keeps_them_on_retry_and_honours_new_weights(
    factory: sessionmaker[Session],
) -> None:
    now = MONDAY_10_SHANGHAI
    with factory() as session:
        campaign = _two_variant_campaign(session)
        add_contacts(session, campaign.id, 200)
        claims = claim_due_contacts(session, "w", now, 200)
        assert len(claims) == 200
        first = {claim.reference_id: claim for claim in claims}
        for claim in claims:
            name = claim.extra["variant"]
            assert (name, claim.flow_version) in (("A", 1), ("B", 2))
            assert claim.extra["voice"] == ("zf_x" if name == "B" else None)
        assert 70 < sum(c.extra["variant"] == "A" for c in claims) < 130
        stored = dict(session.execute(select(Contact.reference_id, Contact.variant)).all())
        assert stored == {ref: claim.extra["variant"] for ref, claim in first.items()}
        for claim in claims:  # busy: retried later
            record_result(
                session, claim.attempt_id, CallRecord(outcome="busy", sip_code=486, end_at=now), now
            )
        # The operator moves every new contact to B; those already called keep theirs.
        fresh = session.get(Campaign, campaign.id)
        assert fresh is not None
        fresh.variants = [dict(v, weight=0 if v["name"] == "A" else 1) for v in fresh.variants or []]
        session.commit()
        add_contacts(session, campaign.id, 50, start=1000)
        later = now + dt.timedelta(hours=3)
        again = claim_due_contacts(session, "w", later, 500)
    retried = [c for c in again if c.reference_id in first]
    new = [c for c in again if c.reference_id not in first]
    assert len(retried) == 200 and len(new) == 50
    assert all(c.extra["variant"] == first[c.reference_id].extra["variant"] for c in retried)
    assert all(c.attempt_number == 2 for c in retried)
    assert {c.extra["variant"] for c in new} == {"B"}
    with factory() as session:
        rows = session.execute(select(Attempt.variant, Attempt.flow_version)).all()
    assert {tuple(row) for row in rows} == {("A", 1), ("B", 2)}


def test_campaign_without_variants_is_unchanged(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, 3)
        claims = claim_due_contacts(session, "w", MONDAY_10_SHANGHAI, 3)
        assert [c.extra for c in claims] == [{}, {}, {}]
        assert session.scalars(select(Attempt.variant)).all() == [None, None, None]


# ---------------------------------------------------------------- API


@pytest.fixture(scope="module")
def keys(server: Server) -> dict[str, str]:
    return strategy_and_operator(server, "ab", MINIMAL_FLOW, FLOW_V2)


def _new_campaign(server: Server, key: str, **extra: Any) -> int:
    with server.client(key) as client:
        body = {"name": "ab", "flow_id": "mini", "flow_version": 1, "windows": ALL_DAY, "retry_policy": {}}
        response = client.post("/v1/campaigns", json=body | extra)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


def _loc(response: Any) -> list[Any]:
    assert response.status_code == 422, response.text
    return list(response.json()["detail"][0]["loc"])


def test_variants_api_validates_and_locks_after_first_call(server: Server, keys: dict[str, str]) -> None:
    cid = _new_campaign(server, keys["strategy"])
    with server.client(keys["strategy"]) as client:
        url = f"/v1/campaigns/{cid}/variants"
        assert client.get(url).json() == {"campaign_id": cid, "variants": []}
        assert _loc(client.put(url, json={"variants": [{"name": "A"}]})) == ["body", "variants"]
        assert _loc(client.put(url, json={"variants": [{"name": "A"}, {"name": "A"}]})) == ["body"]
        assert _loc(
            client.put(url, json={"variants": [{"name": "A", "weight": 0}, {"name": "B", "weight": 0}]})
        ) == ["body"]
        assert _loc(client.put(url, json={"variants": [{"name": "A"}, {"name": "b c"}]}))[:4] == [
            "body",
            "variants",
            1,
            "name",
        ]
        missing = client.put(url, json={"variants": [{"name": "A"}, {"name": "B", "flow_version": 9}]})
        assert _loc(missing) == ["body", "variants", 1, "flow_version"]
        done = client.put(
            url,
            json={"variants": [{"name": "A", "weight": 50}, {"name": "B", "weight": 50, "flow_version": 2}]},
        )
        assert done.status_code == 200, done.text
        assert [(v["name"], v["flow_version"]) for v in done.json()["variants"]] == [("A", 1), ("B", 2)]
        assert client.get(f"/v1/campaigns/{cid}").json()["variants"][1]["flow_version"] == 2
        assert _loc(client.patch(url, json={"weights": {"Z": 1}})) == ["body", "weights", "Z"]
        assert _loc(client.patch(url, json={"weights": {"A": 0, "B": 0}})) == ["body", "weights"]
        client.post(f"/v1/campaigns/{cid}/contacts", json=[{"reference_id": "r1", "phone": "13500000001"}])
    _engine, factory = open_database(server.settings.database_url, migrate=False)
    with factory() as session:
        assert len(claim_due_contacts(session, "w", dt.datetime.now(dt.UTC), 5, campaign_ids=[cid])) == 1
    with server.client(keys["operator"]) as operator:  # operators shift weights mid-campaign
        locked = operator.put(url, json={"variants": [{"name": "A"}, {"name": "C"}]})
        assert locked.status_code == 409 and "weights" in locked.json()["detail"]
        shifted = operator.patch(url, json={"weights": {"A": 10}})
        assert shifted.status_code == 200
        assert [v["weight"] for v in shifted.json()["variants"]] == [10, 50]
    with server.client(server.platform_key) as stranger:  # another tenant: 404, word for word
        assert (
            stranger.get(url).status_code == 404
            and stranger.patch(url, json={"weights": {"A": 1}}).status_code == 404
        )


def _run_results(factory: sessionmaker[Session], cid: int, grade_for: dict[str, str]) -> None:
    """Claim every due contact of ``cid`` and finish it answered with the grade ``grade_for[variant]``
    for every third contact of that variant, else no answer."""
    now = dt.datetime.now(dt.UTC)
    with factory() as session:
        claims = claim_due_contacts(session, "w", now, 1000, campaign_ids=[cid])
        for index, claim in enumerate(claims):
            variant = claim.extra["variant"]
            if index % 3 == 0:
                result = CallRecord(outcome="no_answer", sip_code=480, end_at=now + dt.timedelta(seconds=1))
            else:
                grade = grade_for[variant] if index % 2 == 0 else "C"
                result = CallRecord(
                    outcome="answered",
                    sip_code=200,
                    answer_at=now,
                    end_at=now + dt.timedelta(seconds=30 if variant == "A" else 60),
                    conversation=graded_call(grade, ["想办理"] if grade == "A" else []),
                )
            record_result(session, claim.attempt_id, result, now + dt.timedelta(seconds=90))


def test_comparison_finds_the_real_winner_and_results_carry_the_variant(
    server: Server, keys: dict[str, str]
) -> None:
    cid = _new_campaign(server, keys["strategy"], webhook_url="http://127.0.0.1:9/hook", concurrency=1000)
    with server.client(keys["strategy"]) as client:
        variants = [{"name": "A"}, {"name": "B", "flow_version": 2}]
        assert client.put(f"/v1/campaigns/{cid}/variants", json={"variants": variants}).status_code == 200
        few = [{"reference_id": f"f{i}", "phone": f"135{i:08d}"} for i in range(20)]
        assert client.post(f"/v1/campaigns/{cid}/contacts", json=few).status_code in (200, 201)
    _engine, factory = open_database(server.settings.database_url, migrate=False)
    _run_results(factory, cid, {"A": "C", "B": "A"})
    with server.client(keys["operator"]) as operator:
        early = operator.get(f"/v1/campaigns/{cid}/variants/comparison").json()
        assert early["winner"] is None and "样本量不足" in early["verdict_zh"]
    with server.client(keys["strategy"]) as client:
        many = [{"reference_id": f"m{i}", "phone": f"136{i:08d}"} for i in range(400)]
        assert client.post(f"/v1/campaigns/{cid}/contacts", json=many).status_code in (200, 201)
    _run_results(factory, cid, {"A": "C", "B": "A"})
    with server.client(keys["operator"]) as operator:
        report = operator.get(f"/v1/campaigns/{cid}/variants/comparison").json()
        by_name = {row["variant"]: row for row in report["variants"]}
        assert set(by_name) == {"A", "B"} and sum(row["contacts"] for row in by_name.values()) == 420
        a, b = by_name["A"], by_name["B"]
        assert a["converted"] == 0 and b["converted"] > 30 and b["grades"]["A"] == b["converted"]
        assert 0.6 < a["answer_rate"] < 0.73 and (a["avg_talk_s"], b["avg_talk_s"]) == (30.0, 60.0)
        assert report["test"]["name"] == "two-proportion z" and report["test"]["p_value"] < 0.001
        assert (
            report["winner"] == "B"
            and "版本 B" in report["verdict_zh"]
            and "significant" in report["verdict"]
        )
        tagged = operator.get(
            f"/v1/campaigns/{cid}/variants/comparison", params={"conversion_tag": "想办理"}
        ).json()
        assert tagged["conversion"] == {"tag": "想办理"} and tagged["winner"] == "B"
        assert {row["variant"]: row["converted"] for row in tagged["variants"]} == {
            "A": 0,
            "B": b["converted"],
        }
    with server.client(keys["strategy"]) as client:
        only_b = client.get("/v1/results", params={"campaign_id": cid, "variant": "B", "limit": 500}).json()[
            "items"
        ]
        assert only_b and {item["variant"] for item in only_b} == {"B"}
        assert {item["flow_version"] for item in only_b} == {2}
        contact = client.get(f"/v1/campaigns/{cid}/contacts/m1").json()
        assert contact["variant"] in ("A", "B")
    with factory() as session:
        events = session.scalars(
            select(WebhookEvent).where(WebhookEvent.campaign_id == cid, WebhookEvent.type == "call.finished")
        ).all()
    assert events and all(event.payload["variant"] in ("A", "B") for event in events)
