"""Data the console tests start from: keys, shipped flows, a campaign with real finished calls."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from dialog.state import CallResult
from nlu.rules import RuleClassifier
from tests.conftest import FLOWS
from tts.audio import wav_bytes
from tts.base import Audio
from waihu.call_record import CallRecord
from waihu.conversation import Conversation
from waihu.service.apikeys import create_api_key
from waihu.service.flows import store_flow
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Attempt, Campaign, utcnow
from waihu.service.policy import DEFAULT_RETRY_POLICY
from waihu.service.scheduler import claim_due_contacts, mark_answered, mark_ringing, record_result

ALL_DAY = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]
VARIABLES = {"name": "张先生", "amount": "12000"}
#: Two real conversations of the credit-card flow: a transfer (grade A) and a refusal (grade D).
TRANSFERRED = ["是我", "手续费怎么算", "好的 你说", "可以"]
REFUSED = ["对 我就是", "不需要", "真的不用了 谢谢"]


@dataclass
class Seeded:
    """Keys and ids the tests use."""

    admin_key: str
    operator_key: str
    campaign_id: int
    answered_attempt: str
    recording: Path


def converse(flow_text: str, utterances: list[str], *, hang_up: bool = False) -> CallResult:
    """Run the flow on ``utterances`` with the rules NLU and return the graded call (``hang_up``: the
    callee hangs up after the last one, when the call has not ended by then)."""
    from dialog.loader import load_flow_text

    flow = load_flow_text(flow_text).flow
    assert flow is not None
    conv = Conversation(flow, RuleClassifier.from_flow(flow), VARIABLES)
    conv.start()
    for text in utterances:
        conv.user_says(text)
    if hang_up and not conv.finished:
        conv.hangup()
    return conv.result()


def tone_wav(path: Path, seconds: float = 2.0, rate: int = 8000) -> Path:
    """A short 440 Hz WAV standing in for a call recording."""
    samples = int(seconds * rate)
    pcm = b"".join(
        int(8000 * math.sin(2 * math.pi * 440 * i / rate)).to_bytes(2, "little", signed=True)
        for i in range(samples)
    )
    path.write_bytes(wav_bytes(Audio(pcm, rate)))
    return path


def seed(factory: sessionmaker[Session], recordings: Path) -> Seeded:
    """Keys, the shipped flows, and a campaign with three finished attempts (A, D, no answer)."""
    with factory() as session:
        admin_row, admin = create_api_key(session, "Lead admin", "admin")
        _o, operator = create_api_key(session, "Wang (operator)", "operator")
        session.commit()
        texts = {}
        for name in ("telecom_plan_upgrade", "credit_card_installment"):
            texts[name] = (FLOWS / f"{name}.yaml").read_text(encoding="utf-8")
            flow = store_flow(session, texts[name], uploaded_by=admin_row.id).version
            session.commit()
        now = utcnow()
        campaign = Campaign(
            name="Instalment offer — November",
            flow_version_id=flow.id,
            flow_id=flow.flow_id,
            flow_version=flow.version,
            timezone="Asia/Shanghai",
            windows=ALL_DAY,
            max_attempts=3,
            max_attempts_per_day=2,
            retry_policy={k: v.model_dump() for k, v in DEFAULT_RETRY_POLICY.items()},
            concurrency=4,
            caller_numbers=["+862100000001"],
            priority=0,
            state="scheduling",
            created_at=now,
            updated_at=now,
        )
        session.add(campaign)
        session.commit()
        rows = [
            RawRow(
                i + 1,
                {
                    "reference_id": f"c{i}",
                    "phone": f"1380000{i:04d}",
                    "name": f"客户{i}",
                    "variables": VARIABLES,
                },
            )
            for i in range(6)
        ]
        import_contacts(session, campaign.id, rows, now=now - dt.timedelta(minutes=5))
        session.commit()
        claims = claim_due_contacts(session, "console-test", now, limit=3, campaign_ids=[campaign.id])
        assert len(claims) == 3, claims
        recording = tone_wav(recordings / f"{claims[0].attempt_id}.wav")
        start = now - dt.timedelta(minutes=3)
        for index, claim in enumerate(claims):
            ring = start + dt.timedelta(seconds=2 + index)
            if index == 2:
                result = CallRecord(
                    "no_answer",
                    sip_code=480,
                    sip_reason="Temporarily Unavailable",
                    started_at=start,
                    ring_at=ring,
                    end_at=ring + dt.timedelta(seconds=30),
                )
            else:
                mark_ringing(session, claim.attempt_id, ring)
                answer = ring + dt.timedelta(seconds=5)
                mark_answered(session, claim.attempt_id, answer)
                call = converse(texts["credit_card_installment"], TRANSFERRED if index == 0 else REFUSED)
                if index == 0:  # as a voice worker measures it: end of callee speech to first robot audio
                    for number, turn in enumerate(call.trace):
                        turn.latency_ms = 620.0 + 45 * number
                result = CallRecord(
                    "answered",
                    sip_code=200,
                    sip_reason="OK",
                    started_at=start,
                    ring_at=ring,
                    answer_at=answer,
                    end_at=answer + dt.timedelta(seconds=11 * call.rounds + index * 7),
                    conversation=call,
                    recording_path=str(recording) if index == 0 else None,
                )
            record_result(session, claim.attempt_id, result, now=now)
            if index == 0:  # the transfer record a worker writes when a seat took the call
                attempt = session.get(Attempt, claim.attempt_id)
                assert attempt is not None
                attempt.transfer_seat_uri, attempt.transfer_seats_tried = "sip:1001@127.0.0.1", 1
                attempt.transfer_answered, attempt.transfer_ring_ms = True, 4200
                attempt.transfer_talk_s, attempt.transfer_hangup_by = 95.0, "seat"
                session.commit()
        return Seeded(admin, operator, campaign.id, claims[0].attempt_id, recording)
