"""The callee hears the fetched value: text simulator, voice loop (the path of live calls), flow tests.

The worker builds its calls with ``call_builder.build_call`` like the voice-loop test below, with
``fetcher_from_environment()``: the fetch runs in the same ``Conversation`` core, so this test covers
the live path but for SIP (see docs/architecture.md, "one way to build a call").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.rules import RuleClassifier
from tests.fakes import EnergyVad, ScriptedRecognizer, ToneSynthesizer, tone_pcm
from tests.live_data.flows import fetch_flow
from tests.live_data.server import SECRET, StrategyServer, strategy_server
from waihu.conversation import Conversation
from waihu.flowtest import run_test_file
from waihu.live_data import FetchFixture, FixtureFetcher, load_fixtures
from waihu.live_data_http import FETCH_SETTINGS, HttpFetcher
from waihu.service.webhook_destinations import DestinationPolicy
from waihu.voice.call_builder import CallSpec, SpeechParts, build_call
from waihu.voice.loop import InlineRunner

pytestmark = pytest.mark.unit
SILENCE = bytes(320)


def _fetcher() -> HttpFetcher:
    policy = DestinationPolicy.from_entries(["127.0.0.1"], allow_http=True, settings=FETCH_SETTINGS)
    return HttpFetcher(SECRET, policy)


def _simulate(server: StrategyServer, path: str) -> tuple[Conversation, str]:
    """The text simulator on the fetch flow against ``server``: the callee confirms who they are."""
    flow = fetch_flow(url=server.url + path)
    conv = Conversation(flow, variables={"customer_id": "C1001"}, fetcher=_fetcher())
    conv.start()
    return conv, conv.user_says("是的").reply_text


def test_the_text_simulator_speaks_the_fetched_amount() -> None:
    with strategy_server() as server:
        conv, said = _simulate(server, "/bills/{customer_id}")
        assert "您本期账单8650元，可以分三期、六期、十二期" in said
        assert server.seen.paths == ["/bills/C1001"] and server.seen.signatures_ok == [True]
        assert conv.node == "offer"


def test_a_failing_system_takes_the_error_branch_in_the_simulator() -> None:
    with strategy_server() as server:
        conv, said = _simulate(server, "/fail")
        assert said == "系统繁忙，稍后再联系您，再见。" and conv.finished


def test_without_a_fetcher_the_call_takes_the_error_branch() -> None:
    conv = Conversation(fetch_flow(), variables={"customer_id": "C1001"})
    conv.start()
    assert "系统繁忙" in conv.user_says("是的").reply_text
    assert conv.result().fetches[0].detail == "no live-data fetcher configured"


def test_the_voice_loop_speaks_the_fetched_amount(tmp_path: Path) -> None:
    said: list[str] = []
    with strategy_server() as server:
        flow = fetch_flow(url=server.url + "/bills/{customer_id}")
        parts = SpeechParts(
            RuleClassifier.from_flow(flow),
            ScriptedRecognizer(["是的"]),
            ToneSynthesizer(),
            tmp_path,
            EnergyVad,
        )
        spec = CallSpec(flow, {"customer_id": "C1001"}, fetcher=_fetcher())
        loop = build_call(
            spec, parts, runner=InlineRunner(), on_transcript=lambda who, text: said.append(f"{who}: {text}")
        ).loop
        loop.start()
        for _ in range(1000):
            loop.step(SILENCE)
            if loop.listen is not None and not loop.robot_speaking:
                break
        pcm = tone_pcm(700.0, 0.6)
        for i in range(0, len(pcm), 320):
            loop.step(pcm[i : i + 320].ljust(320, b"\0"))
        for _ in range(300):
            loop.step(SILENCE)
            if any("8650" in line for line in said):
                break
    assert "robot: 您本期账单8650元，可以分三期、六期、十二期，需要办理吗？" in said, said
    assert server.seen.signatures_ok == [True]


def test_flow_test_fixtures_answer_fetch_nodes(tmp_path: Path) -> None:
    from tests.live_data.flows import fetch_flow_text

    (tmp_path / "bill.yaml").write_text(fetch_flow_text(), encoding="utf-8")
    tests_dir = tmp_path / "tests"
    tests_dir.mkdir()
    (tests_dir / "bill.yaml").write_text(
        """\
variables: {customer_id: C1}
fixtures:
  bill: {json: {bill: {amount: 520}, plans: [三期]}}
cases:
  - name: live amount
    turns:
      - say: 是的
        expect: {node: offer, reply_contains: "520元"}
  - name: timeout fixture of the case
    fixtures: {bill: {status: timeout}}
    turns:
      - say: 是的
        expect: {node: general}
  - name: a wrong expectation still fails
    turns:
      - say: 是的
        expect: {reply_contains: "999元"}
""",
        encoding="utf-8",
    )
    results = run_test_file(tests_dir / "bill.yaml", "rules")
    assert [r.passed for r in results] == [True, True, False], [r.failures for r in results]


def test_a_fetch_node_without_fixture_fails_the_flow_test(tmp_path: Path) -> None:
    from tests.live_data.flows import fetch_flow_text

    (tmp_path / "bill.yaml").write_text(fetch_flow_text(), encoding="utf-8")
    tests_dir = tmp_path / "tests"
    tests_dir.mkdir()
    (tests_dir / "bill.yaml").write_text(
        "variables: {customer_id: C1}\ncases:\n  - name: no fixture\n    turns:\n      - say: 是的\n",
        encoding="utf-8",
    )
    [result] = run_test_file(tests_dir / "bill.yaml", "rules")
    assert "fetch node 'bill' has no fixture (fixtures:)" in result.failures


def test_simulator_fixtures_load_from_a_flow_test_file_or_a_mapping(tmp_path: Path) -> None:
    shipped = Path(__file__).parents[2] / "flows" / "tests" / "credit_card_live_offer.yaml"
    fixtures = load_fixtures(shipped)
    assert fixtures["fetch_bill"].status == "ok"
    bare = tmp_path / "f.yaml"
    bare.write_text("fetch_bill: {status: timeout}\n", encoding="utf-8")
    assert load_fixtures(bare) == {"fetch_bill": FetchFixture(status="timeout")}
    bare.write_text("fetch_bill: {statu: timeout}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="invalid fixture"):
        load_fixtures(bare)
    fetcher = FixtureFetcher({})
    conv = Conversation(fetch_flow(), variables={"customer_id": "C1"}, fetcher=fetcher)
    conv.start()
    conv.user_says("是的")
    assert fetcher.unknown == ["bill"]


def test_waihu_chat_answers_fetch_nodes_from_fixtures() -> None:
    from tests.conftest import FLOWS
    from tests.test_cli import waihu

    flow = FLOWS / "credit_card_live_offer.yaml"
    common = ["chat", str(flow), "--var", "name=张先生", "--var", "customer_id=C1", "--classifier", "rules"]
    result = waihu(*common, "--fixtures", str(FLOWS / "tests" / flow.name), "--json", stdin="是我\n/hangup\n")
    assert result.returncode == 0, result.stderr
    assert "您本期信用卡账单8650元" in result.stdout
    final = result.stdout.strip().splitlines()[-1]
    assert '"fetches": [{"node": "fetch_bill", "status": "ok"' in final
    missing = waihu(*common, "--fixtures", str(FLOWS / "nope.yaml"), stdin="")
    assert missing.returncode != 0 and "--fixtures" in missing.stderr
