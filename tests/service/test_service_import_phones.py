"""One phone, one contact per campaign: a second reference_id with the same number is refused per row."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from tests.service.helpers import MONDAY_10_SHANGHAI, make_campaign
from waihu.service.imports import RawRow, import_contacts
from waihu.service.scheduler import claim_due_contacts

NOW = MONDAY_10_SHANGHAI
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _rows(*pairs: tuple[str, str]) -> list[RawRow]:
    return [RawRow(i + 1, {"reference_id": ref, "phone": phone}) for i, (ref, phone) in enumerate(pairs)]


def test_the_same_phone_under_two_reference_ids_is_dialled_once(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        campaign = make_campaign(session)
        other = make_campaign(session)
        report = import_contacts(
            session,
            campaign.id,
            _rows(("a", "13800000001"), ("b", "+86 138 0000 0001"), ("c", "13800000003")),
            now=T0,
        )
        session.commit()
        assert (report.created, report.existing, len(report.errors)) == (2, 0, 1)
        (error,) = report.errors
        assert (error.row, error.field, error.reference_id) == (2, "phone", "b")
        assert "row 1 of this import" in error.message and "'a'" in error.message
        # A later import: the number is already in the campaign under "a"; "a" itself is idempotent.
        later = import_contacts(
            session, campaign.id, _rows(("d", "13800000001"), ("a", "13800000001")), now=T0
        )
        session.commit()
        assert (later.created, later.existing, len(later.errors)) == (0, 1, 1)
        assert later.errors[0].field == "phone" and "'a'" in later.errors[0].message
        assert later.errors[0].reference_id == "d"
        # Another campaign may call the same number.
        elsewhere = import_contacts(session, other.id, _rows(("x", "13800000001")), now=T0)
        session.commit()
        assert elsewhere.created == 1
        claims = claim_due_contacts(session, "w", NOW, 10, campaign_ids=[campaign.id])
    assert sorted(claim.phone for claim in claims) == ["+8613800000001", "+8613800000003"]
