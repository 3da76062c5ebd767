"""``waihu demo``: a demo campaign end to end on embedded defaults.

The real service (API over HTTP, SQLite, scheduler, signed webhooks), the speech service (its own
process: ASR, NLU and TTS loaded once), a real telephony worker
(pjsua2) and real SIP peers on loopback: baresip instances play customers speaking Mandarin in
waihu's own Kokoro customer voices (not the robot's),
sipp plays a busy line, an invalid number, a phone nobody picks up and the human seat. A strategy
system's steps are done over the API: keys, flow upload, seat, DNC entry, campaign, contact import.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dialog.actions import Say
from dialog.loader import load_flow
from nlu.paths import data_dir
from sip_peers.peers import Baresip, Sipp, free_udp_port, tone, write_pcm_wav, write_ulaw_for_sipp
from tts.recorded import load_recorded
from waihu.privacy import mask_phone
from waihu.voice.customer import clip_library
from waihu.voice.customer_audio import customer_library

ROOT = Path(__file__).resolve().parents[2]
FLOW = ROOT / "flows" / "credit_card_installment.yaml"
WEBHOOK_SECRET = "demo-webhook-secret-0123456789abcdef"


# (phone, name, amount, what answers) — a customer's turns are clips with their start times.
def _customer(phone: str, name: str, amount: str, *turns: str) -> dict[str, Any]:
    return {"phone": phone, "name": name, "amount": amount, "peer": "customer", "turns": list(turns)}


def _line(phone: str, name: str, amount: str, peer: str) -> dict[str, Any]:
    return {"phone": phone, "name": name, "amount": amount, "peer": peer}


CONTACTS: list[dict[str, Any]] = [
    _customer("13800001001", "张先生", "12000", "好", "我要找客服"),  # asks for a human: transferred
    _customer("13800001002", "李女士", "8600", "好", "不需要了", "谢谢 不用了"),  # refuses twice
    _customer("13800001003", "王先生", "23000", "好", "我在开会"),  # busy: call another time
    _customer("13800001008", "孙先生", "30000", "好", "要多少手续费", "影响征信吗"),  # asks FAQs
    _customer("13800001009", "吴女士", "6600", "好", "不要再打电话来了"),  # do not call me again
    _customer("13800001010", "郑先生", "4100", "打错了吧"),  # wrong person
    _line("13800001004", "赵女士", "5400", "uas_reject_486.xml"),  # busy line
    _line("13800001005", "陈先生", "15000", "uas_reject_404.xml"),  # invalid number
    _line("13800001006", "周女士", "7200", "uas_no_answer.xml"),  # nobody answers: retried once
    _line("13800001007", "刘女士", "9800", "dnc"),  # on the block list: never dialled
]


def e164(contact: dict[str, Any]) -> str:
    """The demo's numbers are Chinese mobiles; the service stores them as E.164."""
    return "+86" + contact["phone"]


class WebhookReceiver:
    """A strategy system's webhook endpoint: checks signatures and keeps the events."""

    def __init__(self, secret: str) -> None:
        from waihu.service.webhooks import verify_signature

        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if verify_signature(self.headers.get("X-Waihu-Signature", ""), body, secret):
                    receiver.events.append(json.loads(body))
                else:
                    receiver.bad_signatures += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop listening."""
        self.server.shutdown()


@contextlib.contextmanager
def running_api(database_url: str) -> Iterator[str]:
    """The service's API in a thread (uvicorn), with its background chores; yields the base URL."""
    import uvicorn

    from waihu.server import create_app
    from waihu.service.settings import Settings

    port = free_udp_port()
    settings = Settings(
        database_url=database_url,
        background=True,
        background_interval_s=1.0,
        webhook_allow_http=True,  # the demo's receiver: http://127.0.0.1 (WAIHU_WEBHOOK_ALLOW_HTTP=1)
        webhook_allow=("127.0.0.1",),  # loopback admitted for it (WAIHU_WEBHOOK_ALLOW=127.0.0.1)
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def speech_service(workdir: Path, console: Console) -> Iterator[str]:
    """``waihu speech serve`` as its own process (the models load once per host); yields its URL."""
    port = free_udp_port()
    log = (workdir / "speech.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "waihu.cli", "speech", "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with console.status("speech service: loading Whisper, the voice and the NLU model once …"):
            deadline = time.monotonic() + 300
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the speech service did not start: see {workdir / 'speech.log'}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _clip(text: str, library: dict[str, Path]) -> bytes:
    return load_recorded(library[text], 8000).pcm


def customer_audio(path: Path, turns: list[str], greeting_s: float, library: dict[str, Path]) -> Path:
    """A customer who answers after the greeting and then about every 12 s (over prompts: barge-in)."""
    pcm = b""
    start = greeting_s + 0.8
    for text in turns:
        pcm += bytes(max(0, int((start - len(pcm) / 16000) * 8000)) * 2) + _clip(text, library)
        start = len(pcm) / 16000 + 6.5
    return write_pcm_wav(path, pcm + bytes(8000 * 2 * 20))


def warm_contact_prompts(contacts: list[dict[str, Any]]) -> dict[str, float]:
    """Synthesise each customer's variable prompts into the worker's prompt cache before dialling;
    returns each one's greeting length (s).

    The worker pre-renders them while the phone rings, but the demo's SIP customers answer at once
    and speak on a fixed schedule: a greeting still being synthesised would pause mid-sentence and
    the customer's first answer would fall into it. The speech service's audio is the local
    synthesiser's (same version and voices), so the worker finds these clauses in the cache.
    """
    from dialog.templates import render
    from waihu.voice.call_builder import call_variables, default_synthesizer
    from waihu.voice.speech_output import SpeechOutput, variable_texts

    flow = load_flow(FLOW)
    speech = SpeechOutput(default_synthesizer(), data_dir() / "cache" / "prompts", language="zh")
    greetings: dict[str, float] = {}
    for contact in contacts:
        variables = call_variables({"amount": contact["amount"]}, contact["name"])
        speech.warm(variable_texts(flow, variables))
        values = {name: v.default for name, v in flow.variables.items() if v.default} | variables
        text = render(flow.nodes[flow.start].prompt[0], values)
        greetings[contact["phone"]] = speech.render(Say(text)).duration_s
    return greetings


class Api:
    """A thin strategy-system client."""

    def __init__(self, base: str, key: str) -> None:
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None


def run_campaign_demo(console: Console, workdir: Path) -> dict[str, Any]:
    """Run the whole demo; print results, counters and webhooks; return a summary for tests."""
    from waihu.calls.worker import DialPlan, WorkerConfig
    from waihu.service.apikeys import create_api_key
    from waihu.service.db import open_database

    with console.status("the demo customers' voices (Kokoro, synthesised once) …") as status:
        clips = customer_library(lambda i, n: status.update(f"the demo customers' voices: {i}/{n}"))
    library = clip_library(clips)
    workdir = workdir.resolve()  # the peers run in their own working directories
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    database_url = f"sqlite:///{workdir / 'waihu.db'}"
    _engine, factory = open_database(database_url)
    with factory() as session:
        _row, admin_key = create_api_key(session, "demo admin", "admin")
        session.commit()
    receiver = WebhookReceiver(WEBHOOK_SECRET)
    with running_api(database_url) as base, contextlib.ExitStack() as peers:
        admin = Api(base, admin_key)
        strategy = Api(
            base, admin("POST", "/v1/keys", json={"name": "strategy system", "role": "strategy"})["key"]
        )
        operator = Api(base, admin("POST", "/v1/keys", json={"name": "operator", "role": "operator"})["key"])
        flow = operator(
            "POST", "/v1/flows", content=FLOW.read_bytes(), headers={"content-type": "application/yaml"}
        )
        console.print(f"flow [bold]{flow['flow_id']}[/] v{flow['version']} uploaded; starting SIP peers …")

        seat_dir = workdir / "seat"
        seat_dir.mkdir()
        seat_audio = write_ulaw_for_sipp(workdir / "seat.ulaw", tone(1200, 2.0))
        seat = peers.enter_context(Sipp("uas_seat.xml", seat_dir, wav=seat_audio, timeout_s=300))
        admin(
            "POST",
            "/v1/seats",
            json={"uri": seat.uri_for("seat1"), "skill_group": "credit_card", "available": True},
        )
        with console.status("the customers' greetings, synthesised before dialling …"):
            greetings = warm_contact_prompts([c for c in CONTACTS if c["peer"] == "customer"])
        routes: dict[str, str] = {}
        for contact in CONTACTS:
            peer = contact["peer"]
            if peer == "customer":
                wav = customer_audio(
                    workdir / f"{contact['phone']}.wav",
                    contact["turns"],
                    greetings[contact["phone"]],
                    library,
                )
                routes[e164(contact)] = peers.enter_context(Baresip(workdir, wav, user=contact["phone"])).uri
            elif peer == "dnc":
                admin(
                    "POST",
                    "/v1/dnc",
                    json={"phone": contact["phone"], "reason": "asked in a previous campaign"},
                )
            else:
                peer_dir = workdir / contact["phone"]
                peer_dir.mkdir()
                calls = 2 if "no_answer" in peer else 1
                routes[e164(contact)] = peers.enter_context(
                    Sipp(peer, peer_dir, wav=seat_audio, calls=calls, timeout_s=300)
                ).uri

        campaign = strategy(
            "POST",
            "/v1/campaigns",
            json={
                "name": "信用卡账单分期 演示",
                "flow_id": "credit_card_installment",
                "windows": [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "23:59"}],
                "retry_policy": {
                    "no_answer": {"interval_s": 60, "max": 1},
                    "busy": {"interval_s": 3600, "max": 0},
                },
                "concurrency": 4,
                "caller_numbers": ["4008001234"],
                "webhook_url": receiver.url,
                "webhook_secret": WEBHOOK_SECRET,
            },
        )
        imported = strategy(
            "POST",
            f"/v1/campaigns/{campaign['id']}/contacts",
            json={
                "contacts": [
                    {
                        "reference_id": f"crm-{c['phone'][-4:]}",
                        "phone": c["phone"],
                        "name": c["name"],
                        "variables": {"amount": c["amount"]},
                    }
                    for c in CONTACTS
                ]
            },
        )
        console.print(
            f"campaign {campaign['id']} created, {imported['created']} contacts imported; calling …"
        )
        sip_port = free_udp_port()
        speech_url = peers.enter_context(speech_service(workdir, console))
        config = WorkerConfig(
            worker_id="demo-worker",
            dial_plan=DialPlan(routes=routes),
            sip_port=sip_port,
            rtp_port=free_udp_port(40),
            ring_timeout_s=8,
            lease_s=60,
            recordings_dir=workdir / "recordings",
            # pjsua2 prints each RTP port it finds taken by a peer ("bind() … Address already in
            # use") while it looks for a free one: noise in a demo's output.
            pj_log_level=0,
            speech_url=speech_url,
        )
        summary = asyncio.run(
            _call_until_done(factory, config, strategy, campaign["id"], len(CONTACTS), console)
        )
        query = {"campaign_id": campaign["id"], "limit": 100, "transcript": "true"}
        results = strategy("GET", "/v1/results", params=query)["items"]
        (workdir / "results.json").write_text(
            json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        time.sleep(2.5)  # let the outbox deliver the last events
    receiver.close()
    _print_results(console, results, summary, receiver)
    console.print(
        f"recordings (stereo: customer left, robot right): {workdir / 'recordings'}\n"
        f"transcripts with the node × intent trace: {workdir / 'results.json'} "
        "(GET /v1/results?transcript=true)"
    )
    return {
        "results": results,
        "counters": summary,
        "webhooks": receiver.events,
        "bad_signatures": receiver.bad_signatures,
    }


async def _call_until_done(
    factory: Any, config: Any, api: Api, campaign_id: int, total: int, console: Console
) -> dict[str, Any]:
    from waihu.calls.worker import Worker

    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(factory, config).run(stop))
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    counters: dict[str, Any] = {}
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("contacts finished", total=total)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not worker.done():
            view = await asyncio.to_thread(api, "GET", f"/v1/campaigns/{campaign_id}")
            counters = view["counters"]
            progress.update(task, completed=counters.get("done", 0))
            if view["state"] in ("succeeded", "cancelled", "failed"):
                break
            await asyncio.sleep(1)
    stop.set()
    await worker
    return counters


def _print_results(
    console: Console, results: list[dict[str, Any]], counters: dict[str, Any], receiver: WebhookReceiver
) -> None:
    # Legible at 80 columns and in logs: short headers, no wrapping inside a cell's words.
    table = Table(title="call results (GET /v1/results)", expand=False, padding=(0, 1))
    columns: tuple[tuple[str, Literal["left", "right"]], ...] = (
        ("phone", "left"),
        ("#", "right"),
        ("outcome", "left"),
        ("SIP", "right"),
        ("by", "left"),
        ("s", "right"),
        ("grade", "left"),
        ("tags", "left"),
    )
    for column, justify in columns:
        table.add_column(
            column,
            justify=justify,
            no_wrap=column != "tags",
            overflow="fold" if column == "tags" else "ellipsis",
        )
    for row in results:
        table.add_row(
            mask_phone(row["phone"])[-8:],
            str(row["attempt_number"]),
            row["outcome"],
            str(row["sip_code"] or ""),
            row["hangup_by"] or "",
            f"{row['duration_s']:.0f}",
            row["grade"] or "",
            "\n".join(row["tags"]),
        )
    console.print(table)
    console.print(f"[bold]counters[/] {json.dumps(counters, ensure_ascii=False)}")
    kinds = Counter(event.get("type", "?") for event in receiver.events)
    by_type = ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items()))
    console.print(
        f"[bold]webhooks[/] {sum(kinds.values())} delivered with valid signatures ({by_type}); "
        f"bad signatures: {receiver.bad_signatures}"
    )
