"""Result-based routing (结果分流) and local caller-ID presentation, over real HTTP (SQLite)."""

from __future__ import annotations

import datetime as dt

from tests.service.helpers import Server
from tests.service.rules_helpers import (
    SHANGHAI,
    answered,
    claim,
    db,
    finish,
    future_monday,
    import_phones,
    new_campaign,
    strategy_keys,
    upload_flow,
)

WORKDAY = [
    {"weekdays": [1, 2, 3, 4, 5], "start": "09:00", "end": "12:00"},
    {"weekdays": [1, 2, 3, 4, 5], "start": "14:00", "end": "20:00"},
]
RULES = [
    {"name": "busy", "when": {"tags_any": ["busy"]}, "action": "retry", "after_s": 7200, "max": 1},
    {
        "name": "callback",
        "when": {"intents_any": ["call_later"]},
        "action": "retry",
        "after_s": 3600,
        "use_callback_time": True,
    },
]


def _local(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(SHANGHAI)


def test_retry_rules_by_tag_and_by_the_time_the_callee_named(server: Server) -> None:
    upload_flow(server, "bank")
    key = strategy_keys(server, "bank")
    factory = db(server)
    now = future_monday(hour=9)  # Monday 09:00 Shanghai: +2 h is still in the morning window
    with server.client(key) as client:
        cid = new_campaign(client, windows=WORKDAY, routing_rules=RULES, max_attempts=5)["id"]
        import_phones(
            client,
            cid,
            {"busy": "13700007001", "later": "13700007002", "entity": "13700007003", "plain": "13700007004"},
        )
        calls = {c.reference_id: c for c in claim(factory, cid, now)}
        finish(factory, calls["busy"].attempt_id, answered(tags=["busy"], said="在忙"), now)
        finish(factory, calls["later"].attempt_id, answered(said="明天下午再打吧", intent="call_later"), now)
        finish(
            factory,
            calls["entity"].attempt_id,
            answered(said="嗯", intent="call_later", entities={"callback": "D+2T10:30"}),
            now,
        )
        finish(factory, calls["plain"].attempt_id, answered(grade="A"), now)
        busy = client.get(f"/v1/campaigns/{cid}/contacts/busy").json()
        assert busy["state"] == "pending" and _local(busy["next_attempt_at"]) == now.astimezone(
            SHANGHAI
        ) + dt.timedelta(hours=2)
        later = client.get(f"/v1/campaigns/{cid}/contacts/later").json()
        tomorrow = now.astimezone(SHANGHAI).date() + dt.timedelta(days=1)
        assert _local(later["next_attempt_at"]) == dt.datetime.combine(
            tomorrow, dt.time(14, 0), tzinfo=SHANGHAI
        )
        entity = client.get(f"/v1/campaigns/{cid}/contacts/entity").json()
        assert _local(entity["next_attempt_at"]) == dt.datetime.combine(
            tomorrow + dt.timedelta(days=1), dt.time(10, 30), tzinfo=SHANGHAI
        )
        plain = client.get(f"/v1/campaigns/{cid}/contacts/plain").json()
        assert (plain["state"], plain["final_outcome"], plain["grade"]) == ("done", "answered", "A")
        # the busy rule's one call-back is spent after the second busy answer
        (again,) = claim(factory, cid, now + dt.timedelta(hours=2))
        assert again.reference_id == "busy" and again.attempt_number == 2
        finish(factory, again.attempt_id, answered(tags=["busy"]), now + dt.timedelta(hours=2))
        done = client.get(f"/v1/campaigns/{cid}/contacts/busy").json()
        assert (done["state"], done["final_outcome"]) == ("done", "answered")
        # a callback time outside the windows moves to the next opening: 13:00 → 14:00
        cid2 = new_campaign(client, windows=WORKDAY, routing_rules=RULES)["id"]
        import_phones(client, cid2, {"noon": "13700007005"})
        (noon,) = claim(factory, cid2, now)
        finish(factory, noon.attempt_id, answered(said="三个小时后", intent="call_later"), now)
        moved = client.get(f"/v1/campaigns/{cid2}/contacts/noon").json()
        assert _local(moved["next_attempt_at"]).time() == dt.time(14, 0)


def test_routing_to_a_follow_up_campaign_by_grade(server: Server) -> None:
    upload_flow(server, "bank")
    key = strategy_keys(server, "bank")
    outsider = strategy_keys(server, "other-bank")
    factory = db(server)
    now = future_monday(hour=10)
    with server.client(outsider) as other:
        upload_flow(server, "other-bank")
        foreign = new_campaign(other)["id"]
    with server.client(key) as client:
        follow_up = new_campaign(client, name="follow-up")["id"]
        rule = {
            "name": "b-later",
            "when": {"grades": ["B"]},
            "action": "route",
            "campaign_id": follow_up,
            "after_s": 3 * 86400,
        }
        for bad_target, message in ((foreign, "not found"), (999999, "not found")):
            refused = client.post(
                "/v1/campaigns",
                json={"name": "x", "flow_id": "mini", "routing_rules": [rule | {"campaign_id": bad_target}]},
            )
            assert refused.status_code == 422 and message in refused.json()["detail"][0]["msg"]
            assert refused.json()["detail"][0]["loc"] == ["body", "routing_rules", 0, "campaign_id"]
        missing = client.post(
            "/v1/campaigns",
            json={
                "name": "x",
                "flow_id": "mini",
                "routing_rules": [{"name": "r", "when": {}, "action": "route", "campaign_id": follow_up}],
            },
        )
        assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][:4] == [
            "body",
            "routing_rules",
            0,
            "when",
        ]
        source = new_campaign(client, name="source", routing_rules=[rule])["id"]
        itself = client.patch(
            f"/v1/campaigns/{source}", json={"routing_rules": [rule | {"campaign_id": source}]}
        )
        assert itself.status_code == 422 and itself.json()["detail"][0]["loc"] == [
            "body",
            "routing_rules",
            0,
            "campaign_id",
        ]
        import_phones(client, source, {"b": "13700008001", "a": "13700008002"})
        calls = {c.reference_id: c for c in claim(factory, source, now)}
        finish(factory, calls["b"].attempt_id, answered(grade="B"), now)
        finish(factory, calls["a"].attempt_id, answered(grade="A"), now)
        routed = client.get(f"/v1/campaigns/{source}/contacts/b").json()
        assert (routed["state"], routed["final_outcome"], routed["grade"]) == ("done", "answered", "B")
        assert routed["routed_to_contact_id"] is not None
        assert client.get(f"/v1/campaigns/{source}/contacts/a").json()["routed_to_contact_id"] is None
        copy = client.get(f"/v1/campaigns/{follow_up}/contacts/b").json()
        assert copy["state"] == "pending" and copy["routed_from_contact_id"] == routed["id"]
        assert copy["phone"] == "+8613700008001" and copy["id"] == routed["routed_to_contact_id"]
        assert dt.datetime.fromisoformat(copy["next_attempt_at"]) == now + dt.timedelta(days=3)
        assert client.get(f"/v1/campaigns/{follow_up}/contacts/a").status_code == 404
    assert claim(factory, follow_up, now + dt.timedelta(days=2)) == []
    assert [c.reference_id for c in claim(factory, follow_up, now + dt.timedelta(days=3))] == ["b"]


def test_local_caller_id_by_the_callee_province(server: Server) -> None:
    upload_flow(server, "bank")
    key = strategy_keys(server, "bank")
    factory = db(server)
    now = future_monday()
    with server.client(key) as client:
        refused = client.post(
            "/v1/campaigns",
            json={"name": "x", "flow_id": "mini", "caller_numbers_by_region": {"火星": ["+862000000001"]}},
        )
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][:2] == [
            "body",
            "caller_numbers_by_region",
        ]
        cid = new_campaign(
            client,
            caller_numbers=["+864000000001"],
            caller_numbers_by_region={"北京": ["+861058000001"], "江苏省": ["+862558000001"]},
        )["id"]
        shown = client.get(f"/v1/campaigns/{cid}").json()["caller_numbers_by_region"]
        assert shown == {"北京": ["+861058000001"], "江苏": ["+862558000001"]}  # names normalised
        import_phones(
            client, cid, {"beijing": "13800138000", "jiangsu": "13912345678", "yunnan": "15012345678"}
        )
        calls = {c.reference_id: c for c in claim(factory, cid, now)}
        assert {ref: c.caller_number for ref, c in calls.items()} == {
            "beijing": "+861058000001",
            "jiangsu": "+862558000001",
            "yunnan": "+864000000001",  # no local number for Yunnan: the general one
        }
        for one in calls.values():
            finish(factory, one.attempt_id, answered(), now)
        results = client.get("/v1/results", params={"campaign_id": cid}).json()["items"]
        recorded = {r["reference_id"]: (r["caller_number"], r["caller_region"]) for r in results}
        assert recorded == {
            "beijing": ("+861058000001", "北京"),
            "jiangsu": ("+862558000001", "江苏"),
            "yunnan": ("+864000000001", None),
        }
