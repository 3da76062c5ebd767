"""Phone numbers masked for roles that do not need them, and everywhere in the audit log."""

from __future__ import annotations

import pytest

from waihu.service.audit import redact
from waihu.service.masking import looks_like_phone, mask_middle
from waihu.service.models import Attempt, Contact
from waihu.service.views import AttemptView, ContactView, masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800001234", "138****1234"),
        ("+8613800001234", "+86138****1234"),
        ("+86 138-0000-1234", "+86138****1234"),
        ("１３８００００１２３４", "138****1234"),  # full-width digits are masked too
        ("+12025550123", "+1202***0123"),
        ("+862100000001", "+86210***0001"),
        ("1234", "****"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_middle_keeps_country_code_first_digits_and_last_four(
    phone: str | None, masked: str | None
) -> None:
    assert mask_middle(phone) == masked


def _contact() -> Contact:
    return Contact(
        id=1,
        campaign_id=2,
        reference_id="c1",
        phone="+8613800001234",
        name="张三",
        variables={},
        state="done",
        attempts_total=1,
        grade_label="",
        tags=[],
    )


def _attempt() -> Attempt:
    return Attempt(
        id="a" * 32,
        contact_id=1,
        campaign_id=2,
        number=1,
        phone="+8613800001234",
        caller_number="+862100000001",
        flow_id="mini",
        flow_version=1,
        status="finished",
        grade_label="",
        tags=[],
        kb_hits=[],
        rounds=0,
        transcript=[],
    )


@pytest.mark.parametrize(
    ("role", "shown"),
    [("operator", "+86138****1234"), ("strategy", "+8613800001234"), ("admin", "+8613800001234")],
)
def test_contact_and_result_views_by_role(role: str, shown: str) -> None:
    contact = masked(ContactView.from_row(_contact()), role)
    result = masked(AttemptView.from_row(_attempt(), _contact()), role)
    assert contact.phone == result.phone == shown
    assert contact.reference_id == "c1" and result.caller_number == "+862100000001"


def test_audit_redaction_masks_numbers_and_secrets_at_any_depth() -> None:
    before = {
        "phone": "+8613800001234",
        "caller_numbers": ["+862100000001"],
        "webhook_secret": "s" * 40,
        "key": "whk_abc.def",
        "webhook_url": "https://u:p@8.8.8.8/x",
        "nested": [{"note": "13900004444"}, {"when": "2026-12-01", "count": 3}],
        "name": "offer",
    }
    clean = redact(before)
    assert clean == {
        "phone": "+86138****1234",
        "caller_numbers": ["+86210***0001"],
        "webhook_secret": "***",
        "key": "***",
        "webhook_url": "https://8.8.8.8/x",
        "nested": [{"note": "139****4444"}, {"when": "2026-12-01", "count": 3}],
        "name": "offer",
    }
    assert not looks_like_phone("2026-12-01") and looks_like_phone("+86 138 0000 1234")
