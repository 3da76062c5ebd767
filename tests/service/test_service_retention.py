"""Data retention by the background chores: old recordings deleted, transcripts emptied, numbers masked,
an audit trace left; recent calls, pending contacts and files outside the recordings directory untouched."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import ALL_DAY, Server, add_contacts, graded_call, make_campaign
from tests.service.rules_helpers import admin_key, new_campaign, strategy_keys, upload_flow
from waihu.call_record import CallRecord
from waihu.service.background import Chores
from waihu.service.models import Attempt, AuditEntry, Contact, NluInboxItem, WebhookEvent, utcnow
from waihu.service.retention import RetentionDefaults, apply_retention
from waihu.service.scheduler import claim_due_contacts, record_result

#: Events are queued; a documentation address is refused at delivery without a DNS look-up.
HOOK = {"webhook_url": "https://203.0.113.9/hook", "webhook_secret": "s" * 32}
DAY = dt.timedelta(days=1)


def _call(
    session: Session, campaign_id: int, count: int, recordings: Path, ended_days_ago: dict[str, int]
) -> None:
    """Claim ``count`` contacts, save answered results with a recording and a transcript, then age them."""
    now = utcnow()
    claims = claim_due_contacts(session, "w", now, count, campaign_ids=[campaign_id])
    for claim in claims:
        wav = recordings / f"{claim.reference_id}.wav"
        wav.write_bytes(b"RIFF....WAVE")
        result = CallRecord(
            outcome="answered",
            answer_at=now,
            end_at=now,
            conversation=graded_call("A"),
            recording_path=str(wav),
        )
        record_result(session, claim.attempt_id, result, now)
        attempt = session.get(Attempt, claim.attempt_id)
        assert attempt is not None
        attempt.transcript = [{"utterance": f"我的号码是{claim.phone}", "intent": "no_match"}]
        session.add(
            NluInboxItem(
                flow_id="mini",
                flow_version=1,
                attempt_id=claim.attempt_id,
                turn_index=1,
                node="ask",
                text="今天天气",
                intent="no_match",
                confidence=0.1,
            )
        )
        ended = now - ended_days_ago[claim.reference_id] * DAY
        attempt.end_at = ended
        session.execute(update(Contact).where(Contact.id == claim.contact_id).values(finished_at=ended))
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.campaign_id == campaign_id, WebhookEvent.created_at >= now)
            .values(created_at=ended)
        )
        session.commit()


def _recordings_dir(tmp_path: Path) -> Path:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    return recordings


def _by_ref(session: Session, campaign_id: int) -> dict[str, tuple[Attempt, Contact]]:
    rows = session.execute(
        select(Attempt, Contact)
        .join(Contact, Contact.id == Attempt.contact_id)
        .where(Attempt.campaign_id == campaign_id)
    )
    return {contact.reference_id: (attempt, contact) for attempt, contact in rows}


def test_the_chore_purges_old_calls_masks_old_numbers_and_leaves_an_audit_trace(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    recordings = _recordings_dir(tmp_path)
    with factory() as session:
        campaign = make_campaign(session, retention_days=30, mask_after_days=60, **HOOK)
        add_contacts(session, campaign.id, 4)
        cid = campaign.id
        # c0: 90 days old (purged and masked), c1: 45 days (purged only), c2: 5 days (untouched);
        # c3 is never called: still pending, its number is needed.
        _call(session, cid, 3, recordings, {"c0": 90, "c1": 45, "c2": 5})
    Chores(factory, retention=RetentionDefaults(), recordings_dir=recordings).run_once()
    with factory() as session:
        rows = _by_ref(session, cid)
        old, old_contact = rows["c0"]
        middle, middle_contact = rows["c1"]
        recent, _ = rows["c2"]
        for attempt in (old, middle):
            assert (
                attempt.transcript == [] and attempt.recording_path is None and attempt.purged_at is not None
            )
            assert attempt.grade == "A" and attempt.outcome == "answered"  # statistics stay
        assert recent.transcript and recent.recording_path and recent.purged_at is None
        assert not (recordings / "c0.wav").exists() and not (recordings / "c1.wav").exists()
        assert (recordings / "c2.wav").exists()
        assert "*" in old.phone and "*" in old_contact.phone and old.phone.endswith(old_contact.phone[-4:])
        assert "*" not in middle.phone and "*" not in middle_contact.phone and "*" not in recent.phone
        pending = session.scalars(
            select(Contact).where(Contact.reference_id == "c3", Contact.campaign_id == cid)
        ).one()
        assert pending.state == "pending" and "*" not in pending.phone
        inbox = session.scalars(select(NluInboxItem.attempt_id)).all()
        assert inbox == [recent.id]
        events = {
            event.payload.get("attempt_id"): event.payload
            for event in session.scalars(
                select(WebhookEvent).where(
                    WebhookEvent.campaign_id == cid, WebhookEvent.type == "call.finished"
                )
            )
        }
        assert events[old.id]["transcript"] == [] and "*" in events[old.id]["phone"]
        assert events[middle.id]["transcript"] == [] and events[middle.id]["recording_path"] is None
        assert events[recent.id]["recording_path"] and "*" not in events[recent.id]["phone"]
        stored = json.dumps([e.payload for e in session.scalars(select(WebhookEvent))], ensure_ascii=False)
        assert "13800000000" not in stored and "13800000001" in stored  # c0's number masked, c1's not yet
        [trace] = session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.retention")).all()
        assert (trace.resource_id, trace.actor_role, trace.actor_name) == (
            str(cid),
            "system",
            "waihu retention",
        )
        assert trace.after is not None
        assert trace.after["recordings_deleted"] == 2 and trace.after["transcripts_purged"] == 2
        assert trace.after["attempts_masked"] == 1 and trace.after["contacts_masked"] == 1
        assert trace.after["inbox_items_deleted"] == 2
        assert (trace.after["retention_days"], trace.after["mask_after_days"]) == (30, 60)
    with factory() as session:  # idempotent: nothing left to do, no second trace
        assert apply_retention(session, RetentionDefaults(), recordings).campaigns == {}
        assert (
            len(session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.retention")).all())
            == 1
        )


def test_the_server_default_applies_to_campaigns_without_their_own(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with factory() as session:
        default = make_campaign(session)
        add_contacts(session, default.id, 1)
        own = make_campaign(session, retention_days=365)
        add_contacts(session, own.id, 1, start=10)
        _call(session, default.id, 1, tmp_path, {"c0": 100})
        _call(session, own.id, 1, tmp_path, {"c10": 100})
        ids = (default.id, own.id)
    with factory() as session:
        report = apply_retention(session, RetentionDefaults(retention_days=90), tmp_path)
    assert list(report.campaigns) == [ids[0]]
    with factory() as session:
        [(purged, _)] = _by_ref(session, ids[0]).values()
        [(kept, _)] = _by_ref(session, ids[1]).values()
        assert purged.purged_at is not None and kept.purged_at is None and kept.transcript
        assert "*" not in purged.phone  # masking is off unless configured
    with factory() as session:  # no default at all: nothing is purged
        assert apply_retention(session, RetentionDefaults(retention_days=None), tmp_path).campaigns == {}


def test_a_recording_outside_the_recordings_directory_is_never_deleted(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    recordings = _recordings_dir(tmp_path)
    with factory() as session:
        campaign = make_campaign(session, retention_days=1)
        add_contacts(session, campaign.id, 1)
        _call(session, campaign.id, 1, tmp_path, {"c0": 3})  # the file lies beside, not below, the directory
        cid = campaign.id
    with factory() as session:
        report = apply_retention(session, RetentionDefaults(), recordings)
    assert report.campaigns[cid].recordings_deleted == 0 and report.campaigns[cid].transcripts_purged == 1
    assert (tmp_path / "c0.wav").exists()


@pytest.mark.parametrize("batch", [1])
def test_work_is_done_in_bounded_batches(factory: sessionmaker[Session], tmp_path: Path, batch: int) -> None:
    with factory() as session:
        campaign = make_campaign(session, retention_days=1)
        add_contacts(session, campaign.id, 3)
        _call(session, campaign.id, 3, tmp_path, {"c0": 5, "c1": 5, "c2": 5})
        cid = campaign.id
    passes = 0
    while True:
        with factory() as session:
            report = apply_retention(session, RetentionDefaults(), tmp_path, batch=batch)
        if not report.campaigns:
            break
        assert report.campaigns[cid].transcripts_purged == 1
        passes += 1
    assert passes == 3


def _diff(entries: list[dict[str, Any]], field: str) -> tuple[Any, Any]:
    """``field`` before and after, in the one audit entry that changed only it."""
    [entry] = [entry for entry in entries if list(entry["after"]) == [field]]
    return entry["before"][field], entry["after"][field]


def test_campaign_create_and_patch_accept_the_retention_fields_with_validation(server: Server) -> None:
    upload_flow(server, "keeper")
    key, admin = strategy_keys(server, "keeper"), admin_key(server, "keeper")
    with server.client(key) as client:
        default = new_campaign(client)
        assert (default["retention_days"], default["mask_after_days"]) == (None, None)  # the server's
        campaign = new_campaign(client, retention_days=30, mask_after_days=180)
        cid = campaign["id"]
        assert (campaign["retention_days"], campaign["mask_after_days"]) == (30, 180)
        for field, value in [
            ("retention_days", 0),
            ("retention_days", 3651),
            ("mask_after_days", -1),
            ("mask_after_days", "soon"),
        ]:
            body = {"name": "c", "flow_id": "mini", "windows": ALL_DAY, field: value}
            refused = client.post("/v1/campaigns", json=body)
            assert refused.status_code == 422 and field in refused.text, refused.text
            patched = client.patch(f"/v1/campaigns/{cid}", json={field: value})
            assert patched.status_code == 422 and field in patched.text, patched.text
        changed = client.patch(f"/v1/campaigns/{cid}", json={"retention_days": 7})
        assert changed.status_code == 200 and changed.json()["retention_days"] == 7
        reset = client.patch(f"/v1/campaigns/{cid}", json={"mask_after_days": None})
        assert reset.status_code == 200 and reset.json()["mask_after_days"] is None  # back to the default
        shown = client.get(f"/v1/campaigns/{cid}").json()
        assert (shown["retention_days"], shown["mask_after_days"]) == (7, None)
    with server.client(admin) as client:
        entries = client.get("/v1/audit", params={"action": "campaign.update", "limit": 50}).json()["items"]
    changes = [entry for entry in entries if entry["resource_id"] == str(cid)]
    assert _diff(changes, "retention_days") == (30, 7)
    assert _diff(changes, "mask_after_days") == (180, None)
    with server.client(strategy_keys(server, "other-keeper")) as outsider:
        assert outsider.patch(f"/v1/campaigns/{cid}", json={"retention_days": 1}).status_code == 404
