"""Seat claims on a real PostgreSQL: racing workers never ring the same seat (conditional UPDATE)."""

from __future__ import annotations

from tests.service.test_seat_claims import race_for_seats
from waihu.service.db import open_database


def test_concurrent_seat_claims_on_postgres(pg_url: str) -> None:
    engine, factory = open_database(pg_url)
    try:
        race_for_seats(factory, rounds=20)
    finally:
        engine.dispose()
