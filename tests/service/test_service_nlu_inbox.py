"""The operator's learning inbox: unclassified utterances of real results → groups → a new flow version.

The items come from the service's own result-saving path (claim → ``record_result``) fed with calls
the engine really ran; the API is driven over real HTTP; the flow's tests run on every edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from dialog.loader import load_flow_text
from nlu.base import NluResult
from nlu.rules import RuleClassifier
from tests.conftest import MINIMAL_FLOW
from tests.service.helpers import Server, add_contacts, make_campaign, run_server, strategy_and_operator
from waihu.call_record import CallRecord
from waihu.console.config import ConsoleConfig
from waihu.console.state import ConsoleState
from waihu.conversation import Conversation
from waihu.service.flow_examples import ExampleEditError, add_intent_example, add_kb_question
from waihu.service.inbox_groups import Utterance, group_utterances
from waihu.service.models import NluInboxItem
from waihu.service.scheduler import claim_due_contacts, record_result
from waihu.service.settings import Settings

FLOW = load_flow_text(MINIMAL_FLOW).flow
MINI_TESTS = """\
flow: ../mini.yaml
cases:
  - name: the callee agrees
    turns:
      - say: 可以
        expect: {intent: affirm, node: done}
  - name: small talk is not taken for an answer
    turns:
      - say: 你们是哪个营业厅
        expect: {intent: no_match}
"""
#: What three callees said, turn by turn; none of it is in the minimal flow.
CALLS = [
    ["我在开车", "我在开车呢"],
    ["我正在开车", "行吧没问题"],
    ["你们是哪个营业厅", "这个收费吗"],
    ["好的"],
]


class _Fixed:
    """A classifier that answers one verdict (to pin the engine's bookkeeping)."""

    def __init__(self, result: NluResult) -> None:
        self.result = result

    def classify(self, text: str, candidates: Any = None) -> NluResult:
        return self.result


def test_a_turn_keeps_the_guess_the_threshold_turned_into_no_match() -> None:
    conv = Conversation(FLOW, _Fixed(NluResult("affirm", 0.3, alternatives=(("affirm", 0.3),))))  # type: ignore[arg-type]
    conv.start()
    conv.user_says("好像可以吧")
    turn = conv.engine.state.trace[-1]
    assert (turn.intent, turn.guess, turn.confidence) == ("no_match", "affirm", 0.3)
    conv = Conversation(FLOW, _Fixed(NluResult("no_match", 0.2, alternatives=(("busy", 0.2),))))  # type: ignore[arg-type]
    conv.start()
    conv.user_says("我在开车")
    assert conv.engine.state.trace[-1].guess == "busy"


def test_only_unclassified_or_unsure_turns_go_to_the_inbox() -> None:
    from sqlalchemy.orm import Session

    from dialog.state import Turn
    from tests.service.helpers import graded_call
    from waihu.service.inbox import collect
    from waihu.service.models import Attempt

    call = graded_call("C")
    call.trace = [
        Turn(index=1, node="ask", kind="utterance", utterance="好的", intent="affirm", confidence=0.9),
        Turn(index=2, node="ask", kind="utterance", utterance="好像行吧", intent="affirm", confidence=0.55),
        Turn(
            index=3,
            node="ask",
            kind="utterance",
            utterance="我在开车",
            intent="no_match",
            confidence=0.2,
            guess="busy",
        ),
        Turn(index=4, node="ask", kind="no_input", intent="no_input"),
        Turn(index=5, node="ask", kind="dtmf", utterance="9", intent="no_match"),
    ]
    session = Session()
    attempt = Attempt(id="a1", flow_id="mini", flow_version=1)
    assert collect(session, "t1", attempt, call) == 2
    rows = [(r.text, r.intent, r.guess, r.tenant) for r in session.new if isinstance(r, NluInboxItem)]
    assert sorted(rows) == sorted([("好像行吧", "affirm", "", "t1"), ("我在开车", "no_match", "busy", "t1")])
    assert collect(session, "t1", attempt, None) == 0


def test_examples_are_inserted_in_the_lists_own_style() -> None:
    text = add_intent_example(MINIMAL_FLOW, "busy", "我在开车")
    text = add_intent_example(text, "affirm", "it's #1: yes")  # needs quoting
    text = add_kb_question(text, "fee", "要钱吗")
    assert "busy: {examples: [在忙, 我在开车], keywords: [忙]}" in text
    data = yaml.safe_load(text)
    assert data["intents"]["affirm"]["examples"][-1] == "it's #1: yes"
    assert data["knowledge_base"][0]["questions"] == ["多少钱", "要钱吗"]
    # Everything else is the file as written.
    assert (
        text.replace(", 我在开车", "").replace(', "it\'s #1: yes"', "").replace(", 要钱吗", "")
        == MINIMAL_FLOW
    )
    block = "intents:\n  a:\n    keywords: [x]\n  b:\n    examples:\n      - one  # first\n      - two\n"
    edited = add_intent_example(add_intent_example(block, "a", "new"), "b", "three")
    assert edited == (
        "intents:\n  a:\n    examples: [new]\n    keywords: [x]\n"
        "  b:\n    examples:\n      - one  # first\n      - two\n      - three\n"
    )
    with pytest.raises(ExampleEditError, match="no intent 'nope'"):
        add_intent_example(MINIMAL_FLOW, "nope", "x")


def test_grouping_puts_the_same_answer_together() -> None:
    items = [Utterance(1, "我在开车", "busy"), Utterance(2, "行吧没问题"), Utterance(3, "我在开车呢", "busy"),
             Utterance(4, "我在开车"), Utterance(5, "你们是哪个营业厅")]  # fmt: skip
    groups = group_utterances(items)  # no model: character overlap
    assert [sorted(m.id for m in g.members) for g in groups] == [[1, 3, 4], [2], [5]]
    assert (groups[0].representative.text, groups[0].top_guess) == ("我在开车", "busy")


@pytest.fixture(scope="module")
def inbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A live API whose console runs the rules NLU with the mini flow's tests in its flows directory."""
    tmp = tmp_path_factory.mktemp("inbox")
    flows = tmp / "flows"
    (flows / "tests").mkdir(parents=True)
    (flows / "mini.yaml").write_text(MINIMAL_FLOW, encoding="utf-8")
    (flows / "tests" / "mini.yaml").write_text(MINI_TESTS, encoding="utf-8")
    settings = Settings(database_url=f"sqlite:///{tmp / 'waihu.db'}", background=False)
    with run_server(settings) as server:
        server.app.state.console = ConsoleState.from_config(
            ConsoleConfig(classifier_kind="rules", flows_dir=flows)
        )
        yield server


def save_calls(server: Server, calls: list[list[str]]) -> list[str]:
    """Claim one contact per call and save the result of the engine running its turns; the attempt ids."""
    factory = server.app.state.service.factory
    with factory() as session:
        campaign = make_campaign(session)
        add_contacts(session, campaign.id, len(calls))
        claims = claim_due_contacts(session, "worker-1", limit=len(calls))
        assert len(claims) == len(calls)
        for claim, turns in zip(claims, calls, strict=True):
            conv = Conversation(FLOW, RuleClassifier.from_flow(FLOW))
            conv.start()
            for text in turns:
                if not conv.finished:
                    conv.user_says(text)
            if not conv.finished:
                conv.hangup()
            record_result(
                session, claim.attempt_id, CallRecord(outcome="answered", conversation=conv.result())
            )
        return [claim.attempt_id for claim in claims]


def test_inbox_from_saved_results_to_a_new_flow_version(inbox_server: Server) -> None:
    keys = strategy_and_operator(inbox_server, "inbox")
    save_calls(inbox_server, CALLS)
    with inbox_server.client(keys["operator"]) as api:
        inbox = api.get("/v1/flows/mini/inbox")
        assert inbox.status_code == 200, inbox.text
        body = inbox.json()
        assert body["grouping"] == "overlap" and body["open"] == 6  # 好的 was understood (affirm)
        groups = {group["representative"]: group for group in body["groups"]}
        driving = groups["我在开车"]
        assert driving["count"] == 3 and driving["top_guess"] == "busy"
        assert {item["text"] for item in driving["items"]} == {"我在开车", "我在开车呢", "我正在开车"}
        assert body["intents"] == ["affirm", "deny", "repeat", "busy"]
        assert body["kb_entries"] == [{"id": "fee", "question": "多少钱"}]

        # An example that breaks the flow's tests: nothing saved, the failing test named, items open.
        branch = groups["你们是哪个营业厅"]["items"][0]["id"]
        refused = api.post("/v1/flows/mini/inbox/add", json={"item_ids": [branch], "intent": "affirm"})
        assert refused.status_code == 422, refused.text
        problems = refused.json()["detail"]["problems"]
        assert any(line.startswith("small talk is not taken for an answer:") for line in problems), problems
        assert [v["version"] for v in api.get("/v1/flows/mini/versions").json()["items"]] == [1]

        # The group as examples of busy: the tests pass, version 2 holds them.
        ids = [item["id"] for item in driving["items"]]
        added = api.post("/v1/flows/mini/inbox/add", json={"item_ids": ids, "intent": "busy"})
        assert added.status_code == 201, added.text
        assert added.json() | {"added_texts": sorted(added.json()["added_texts"])} == {
            "flow_id": "mini",
            "version": 2,
            "target": "busy",
            "added_texts": sorted(["我在开车", "我在开车呢", "我正在开车"]),
            "tests_run": 2,
            "item_ids": sorted(ids),
        }
        v2 = api.get("/v1/flows/mini/versions/2").json()["yaml"]
        assert "busy: {examples: [在忙, 我在开车, 我在开车呢, 我正在开车], keywords: [忙]}" in v2
        flow2 = load_flow_text(v2).flow
        assert RuleClassifier.from_flow(flow2).classify("我在开车呢").intent == "busy"

        # A KB question, then a dismissal; the refused one stays.
        fee = groups["这个收费吗"]["items"][0]["id"]
        kb = api.post("/v1/flows/mini/inbox/add", json={"item_ids": [fee], "kb_id": "fee"})
        assert kb.status_code == 201, kb.text
        assert (kb.json()["version"], kb.json()["target"]) == (3, "faq:fee")
        other = groups["行吧没问题"]["items"][0]["id"]
        assert api.post("/v1/flows/mini/inbox/dismiss", json={"item_ids": [other]}).json() == {"dismissed": 1}
        again = api.post("/v1/flows/mini/inbox/dismiss", json={"item_ids": [other]})
        assert again.status_code == 409 and again.json()["detail"][0]["loc"] == ["body", "item_ids"]
        left = api.get("/v1/flows/mini/inbox").json()
        assert [group["representative"] for group in left["groups"]] == ["你们是哪个营业厅"]
        assert left["latest_version"] == 3

        # Heard again on version 1, though version 2 knows it: marked added, no new version.
        save_calls(inbox_server, [["我在开车"]])
        again_heard = [
            g for g in api.get("/v1/flows/mini/inbox").json()["groups"] if g["representative"] == "我在开车"
        ]
        known = api.post(
            "/v1/flows/mini/inbox/add", json={"item_ids": [again_heard[0]["id"]], "intent": "busy"}
        )
        assert known.status_code == 200, known.text  # nothing new was created
        assert (known.json()["version"], known.json()["added_texts"]) == (None, [])
    with inbox_server.app.state.service.factory() as session:
        states = dict(session.execute(select(NluInboxItem.text, NluInboxItem.resolved_as)).all())
    assert states["我正在开车"] == "busy" and states["这个收费吗"] == "faq:fee"
    assert states["行吧没问题"] is None


def test_inbox_requests_are_checked_and_tenant_scoped(inbox_server: Server) -> None:
    keys = strategy_and_operator(inbox_server, "checks")
    save_calls(inbox_server, [["你们是哪个营业厅"]])
    with inbox_server.client(keys["operator"]) as api:
        item = api.get("/v1/flows/mini/inbox").json()["groups"][0]["items"][0]["id"]
        both = api.post(
            "/v1/flows/mini/inbox/add", json={"item_ids": [item], "intent": "busy", "kb_id": "fee"}
        )
        assert both.status_code == 422 and both.json()["detail"][0]["loc"] == ["body"]
        unknown = api.post("/v1/flows/mini/inbox/add", json={"item_ids": [item], "intent": "nope"})
        assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "intent"]
        empty = api.post("/v1/flows/mini/inbox/dismiss", json={"item_ids": []})
        assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "item_ids"]
        assert api.get("/v1/flows/nope/inbox").status_code == 404
        heard_on = {v: api.get(f"/v1/flows/mini/inbox?version={v}").json()["open"] for v in (1, 2)}
        assert heard_on[1] >= 1 and heard_on[2] == 0  # the calls ran version 1
        bad = api.get("/v1/flows/mini/inbox?version=0")
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "version"]
    with inbox_server.client(keys["strategy"]) as api:
        assert api.get("/v1/flows/mini/inbox").status_code == 403
    with inbox_server.client(inbox_server.platform_key) as admin:  # another tenant
        other = admin.post("/v1/keys", json={"name": "other op", "role": "operator"}).json()["key"]
    with inbox_server.client(other) as api:
        api.post("/v1/flows", content=MINIMAL_FLOW, headers={"Content-Type": "application/yaml"})
        assert api.get("/v1/flows/mini/inbox").json()["open"] == 0
        stolen = api.post("/v1/flows/mini/inbox/dismiss", json={"item_ids": [item]})
        assert stolen.status_code == 404 and stolen.json()["detail"][0]["loc"] == ["body", "item_ids"]


def test_erasing_a_contact_removes_its_utterances_from_the_inbox(inbox_server: Server) -> None:
    from waihu.service.erasure import erase_contact
    from waihu.service.models import Attempt, Contact

    attempt_id = save_calls(inbox_server, [["我想问问别的事情"]])[0]
    with inbox_server.app.state.service.factory() as session:
        mine = select(NluInboxItem).where(NluInboxItem.attempt_id == attempt_id)
        assert [row.text for row in session.scalars(mine)] == ["我想问问别的事情"]
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        contact = session.get(Contact, attempt.contact_id)
        assert contact is not None
        erase_contact(session, contact, None)
        session.commit()
        assert list(session.scalars(mine)) == []
