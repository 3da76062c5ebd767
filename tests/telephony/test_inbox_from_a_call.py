"""From a real call's no_match to a new flow version: the operator's learning loop end to end.

Real pieces only: a `waihu worker` process dials a baresip customer on loopback who says 我在地铁上
(a clip of the customer library); the minimal flow does not know it (no_match); the worker saves the
result, which fills the inbox; the operator adds it over real HTTP as an example of ``busy`` (the
flow's tests run first); the new version classifies the utterance as ``busy``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from dialog.loader import load_flow_text
from nlu.rules import RuleClassifier
from sip_peers.peers import Baresip
from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import make_campaign, run_server, strategy_and_operator
from tests.service.test_service_nlu_inbox import MINI_TESTS
from tests.telephony.test_dial_conversation import _customer
from tests.telephony.worker_process import call_until_finished
from waihu.console.config import ConsoleConfig
from waihu.console.state import ConsoleState
from waihu.service.db import open_database
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import NluInboxItem
from waihu.service.settings import Settings

PHONE = "13800003101"
SAID = "我在地铁上"


def test_a_calls_no_match_becomes_an_example_of_a_new_flow_version(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'inbox.db'}"
    _engine, factory = open_database(db_url)
    with factory() as session:
        campaign = make_campaign(session)  # the minimal flow: 在忙/忙 are all it knows of busy
        rows = [RawRow(1, {"reference_id": "r1", "phone": PHONE, "name": "张先生"})]
        import_contacts(session, campaign.id, rows)
        session.commit()
    assert RuleClassifier.from_flow(load_flow_text(MINIMAL_FLOW).flow).classify(SAID).intent == "no_match"
    customer_wav = _customer(tmp_path, [(4.0, SAID)], tail_s=30.0)  # after the greeting, then silence
    log = tmp_path / "worker.log"
    with Baresip(tmp_path, customer_wav, user=PHONE) as customer:
        routes = tmp_path / "routes.yaml"
        routes.write_text(f'"+86{PHONE}": "{customer.uri}"\n')
        attempt = call_until_finished(db_url, factory, routes, log, timeout_s=180)
    assert attempt.outcome == "answered", (attempt.outcome, attempt.sip_reason)
    heard = [turn for turn in attempt.transcript if turn["kind"] == "utterance"]
    assert heard and heard[0]["intent"] == "no_match", attempt.transcript
    with factory() as session:
        items = list(session.scalars(select(NluInboxItem)))
    assert [(item.attempt_id, item.node, item.intent) for item in items] == [(attempt.id, "ask", "no_match")]
    text = items[0].text  # what the recogniser heard
    assert SAID[-3:] in text, text

    flows = tmp_path / "flows"
    (flows / "tests").mkdir(parents=True)
    (flows / "mini.yaml").write_text(MINIMAL_FLOW, encoding="utf-8")
    (flows / "tests" / "mini.yaml").write_text(MINI_TESTS, encoding="utf-8")
    with run_server(Settings(database_url=db_url, background=False, migrate=False)) as server:
        server.app.state.console = ConsoleState.from_config(
            ConsoleConfig(classifier_kind="rules", flows_dir=flows)
        )
        keys = strategy_and_operator(server, "inbox e2e")
        with server.client(keys["operator"]) as api:
            group = api.get("/v1/flows/mini/inbox").json()["groups"][0]
            assert (group["representative"], group["count"]) == (text, 1)
            added = api.post("/v1/flows/mini/inbox/add", json={"item_ids": [items[0].id], "intent": "busy"})
            assert added.status_code == 201, added.text
            assert (added.json()["version"], added.json()["tests_run"]) == (2, 2)
            v2 = api.get("/v1/flows/mini/versions/2").json()["yaml"]
    understood = RuleClassifier.from_flow(load_flow_text(v2).flow)
    assert understood.classify(text).intent == "busy"
    assert understood.classify(SAID).intent == "busy"
