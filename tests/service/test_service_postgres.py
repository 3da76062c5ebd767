"""PostgreSQL: migrations, the claim rules, and concurrent claimers with FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

import datetime as dt
import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from tests.service.helpers import MONDAY_10_SHANGHAI, add_contacts, make_campaign
from waihu.call_record import CallRecord
from waihu.service.db import open_database, upgrade
from waihu.service.models import Attempt, Base, Contact, Dnc
from waihu.service.scheduler import claim_due_contacts, record_result, recover_stale

NOW = MONDAY_10_SHANGHAI


def test_migration_creates_the_schema_of_the_models(pg_url: str) -> None:
    engine, _factory = open_database(pg_url)
    try:
        upgrade(engine)  # idempotent
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
            assert diff == []
            tables = set(inspect(conn).get_table_names())
        assert {
            "api_key",
            "flow_version",
            "campaign",
            "contact",
            "attempt",
            "dnc",
            "seat",
            "webhook_event",
        } <= tables
    finally:
        engine.dispose()


def test_claim_rules_and_results_on_postgres(pg_url: str) -> None:
    engine, factory = open_database(pg_url)
    try:
        with factory() as session:
            campaign = make_campaign(
                session, concurrency=3, retry_policy={"no_answer": {"interval_s": 600, "max": 1}}
            )
            add_contacts(session, campaign.id, 5)
            session.add(Dnc(phone="+8613800000000"))
            session.commit()
            claims = claim_due_contacts(session, "pg", NOW, 10)
        assert len(claims) == 3 and "c0" not in {c.reference_id for c in claims}
        with factory() as session:
            recorded = record_result(
                session, claims[0].attempt_id, CallRecord(outcome="no_answer", sip_code=480), NOW
            )
            assert recorded.next_attempt_at == NOW + dt.timedelta(seconds=600)
            assert len(claim_due_contacts(session, "pg", NOW, 10)) == 1  # one line freed
            (lost, *_rest) = recover_stale(session, NOW + dt.timedelta(hours=1))
            assert lost.attempt_id in {c.attempt_id for c in claims}
            blocked = session.scalars(select(Contact).where(Contact.reference_id == "c0")).one()
            assert blocked.final_outcome == "dnc_blocked"
    finally:
        engine.dispose()


def test_concurrent_claimers_never_claim_the_same_contact(pg_url: str) -> None:
    engine, factory = open_database(pg_url)
    try:
        with factory() as session:
            campaign = make_campaign(session, concurrency=10_000)
            add_contacts(session, campaign.id, 600)
        claimed: dict[str, list[int]] = {}
        errors: list[BaseException] = []
        barrier = threading.Barrier(4)

        def worker(name: str) -> None:
            mine: list[int] = []
            try:
                barrier.wait()
                while True:
                    with factory() as session:
                        got = claim_due_contacts(session, name, NOW, 7)
                    if not got:
                        break
                    mine += [c.contact_id for c in got]
            except BaseException as exc:  # reported below
                errors.append(exc)
            claimed[name] = mine

        threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        everything = [contact for mine in claimed.values() for contact in mine]
        assert len(everything) == len(set(everything)) == 600
        assert sum(1 for mine in claimed.values() if mine) >= 2  # the work really was shared
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(Attempt)) == 600
            assert (
                session.scalar(select(func.count()).select_from(Contact).where(Contact.state == "pending"))
                == 0
            )
    finally:
        engine.dispose()


def test_skip_locked_lets_a_second_claimer_pass_a_locked_row(pg_url: str) -> None:
    """While one transaction holds a contact's row lock, another claimer takes the next contact."""
    engine, factory = open_database(pg_url)
    try:
        with factory() as session:
            campaign = make_campaign(session, concurrency=100)
            add_contacts(session, campaign.id, 2)
        with factory() as holder:
            first = holder.scalars(select(Contact).order_by(Contact.id).limit(1).with_for_update()).one()
            with factory() as other:
                (claim,) = claim_due_contacts(other, "w2", NOW, 1)
            assert claim.contact_id != first.id
            holder.rollback()
    finally:
        engine.dispose()
