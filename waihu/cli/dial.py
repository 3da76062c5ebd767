"""``waihu dial``: place one real SIP call and run a flow on it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from dialog.loader import load_flow
from dialog.problems import FlowError
from waihu.privacy import mask_phone

console = Console(stderr=True)


async def dial_once(
    target: str,
    flow_path: Path,
    variables: dict[str, str],
    *,
    sip_port: int,
    rtp_port: int,
    bind: str,
    caller_id: str,
    ring_timeout_s: float,
    record_dir: Path | None,
    seat: str | None,
    transfer_mode: str,
    classifier_kind: str = "default",
    voicemail: str | None = None,
    voicemail_message: str | None = None,
) -> dict[str, object]:
    """Dial ``target``; when answered, run the flow through the voice loop; return the report.

    Early media is listened to for carrier announcements (空号, 关机 …); ``voicemail`` (``hangup`` or
    ``message``) watches the answered call for an answering machine (see :mod:`waihu.cpa`).
    """
    from nlu.factory import build_classifier
    from nlu.paths import data_dir
    from telephony import CallOutcome, SipConfig
    from telephony.engine import SipEngine
    from waihu.voice.call_builder import (
        CallSpec,
        SpeechParts,
        check_variables,
        default_recognizer,
        default_synthesizer,
    )
    from waihu.voice.sip_driver import record_for, talk_on_call

    flow = load_flow(flow_path)
    spec = CallSpec(flow, variables, flow_dir=flow_path.parent)
    check_variables(flow, variables)  # before dialling: never call someone the flow cannot address
    parts = SpeechParts(
        build_classifier(flow, classifier_kind),
        default_recognizer(flow.flow.language, flow),
        default_synthesizer(),
        data_dir() / "cache" / "prompts",
    )
    config = SipConfig(
        bind_address=bind,
        sip_port=sip_port,
        rtp_port=rtp_port,
        caller_id=caller_id,
        recordings_dir=record_dir,
    )
    async with SipEngine(config) as engine:
        from waihu.cpa.early_media import dial_listening
        from waihu.cpa.voicemail import VoicemailPolicy

        listened = await dial_listening(
            engine,
            target,
            recognizer=parts.recognizer,
            ring_timeout_s=ring_timeout_s,
            record=record_dir is not None,
        )
        outcome = listened.dial
        record = record_for(outcome, target, announcement=listened.decision)
        if outcome.outcome is not CallOutcome.ANSWERED or outcome.call is None:
            return record.to_dict()
        policy = VoicemailPolicy(voicemail, voicemail_message, flow.flow.language) if voicemail else None
        await talk_on_call(
            outcome.call,
            record,
            spec=spec,
            parts=parts,
            seat_uri=seat,
            transfer_mode=transfer_mode,
            voicemail=policy,
        )
        return record.to_dict()


def dial(
    target: Annotated[str, typer.Argument(help="SIP URI to call, e.g. sip:13800001234@127.0.0.1:5070.")],
    flow: Annotated[Path, typer.Option("--flow", help="Flow YAML file.")],
    var: Annotated[
        list[str] | None, typer.Option("--var", help="Variable as key=value (repeatable).")
    ] = None,
    record: Annotated[
        Path | None, typer.Option("--record", help="Directory for the stereo recording.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    sip_port: Annotated[int, typer.Option(help="Local SIP port.")] = 5080,
    rtp_port: Annotated[int, typer.Option(help="First local RTP port.")] = 41000,
    bind: Annotated[str, typer.Option(help="Local address.")] = "127.0.0.1",
    caller_id: Annotated[str, typer.Option(help="Caller ID (user part of From).")] = "waihu",
    ring_timeout: Annotated[float, typer.Option(help="Seconds of ringing before giving up.")] = 30.0,
    seat: Annotated[str | None, typer.Option(help="SIP URI of the human seat for transfers.")] = None,
    transfer_mode: Annotated[
        str, typer.Option(help="bridged (works everywhere) or blind (REFER).")
    ] = "bridged",
    classifier: Annotated[str, typer.Option(help="NLU: default, rules or model.")] = "default",
    voicemail: Annotated[
        str | None,
        typer.Option(help="On an answering machine: hangup, or message (say --voicemail-message)."),
    ] = None,
    voicemail_message: Annotated[
        str | None, typer.Option(help="What to say after the beep (with --voicemail message).")
    ] = None,
) -> None:
    """Place one real call, run the flow on it and print the result (outcome, SIP code, grade, trace...)."""
    from waihu.cli.options import parse_vars

    if transfer_mode not in ("bridged", "blind"):
        raise typer.BadParameter("bridged or blind", param_hint="--transfer-mode")
    if voicemail not in (None, "hangup", "message"):
        raise typer.BadParameter("hangup or message", param_hint="--voicemail")
    if voicemail == "message" and not voicemail_message:
        raise typer.BadParameter("needed with --voicemail message", param_hint="--voicemail-message")
    if not target.startswith(("sip:", "sips:")):
        raise typer.BadParameter(
            "expected a SIP URI such as sip:13800001234@127.0.0.1:5070", param_hint="TARGET"
        )
    try:
        load_flow(flow)
    except FlowError as exc:
        for problem in exc.problems:
            typer.echo(problem.format(), err=True)
        raise typer.Exit(1) from exc
    user = target.split(":", 1)[1].split("@", 1)[0]
    console.print(f"dialling {mask_phone(user) if user.isdigit() else user} …")
    report = asyncio.run(
        dial_once(
            target,
            flow,
            parse_vars(var),
            sip_port=sip_port,
            rtp_port=rtp_port,
            bind=bind,
            caller_id=caller_id,
            ring_timeout_s=ring_timeout,
            record_dir=record,
            seat=seat,
            transfer_mode=transfer_mode,
            classifier_kind=classifier,
            voicemail=voicemail,
            voicemail_message=voicemail_message,
        )
    )
    if json_out:
        print(json.dumps(report, ensure_ascii=False))
        return
    lines: list[dict[str, Any]] = report.get("lines", [])  # type: ignore[assignment]
    for line in lines:
        console.print(f"{line['t']:7.2f}s {line['who']:>6}: {line['text']}", highlight=False)
    summary = {
        k: report[k]
        for k in ("outcome", "sip_code", "hangup_by", "grade", "tags", "duration_s", "recording_path")
    }
    print(json.dumps(summary, ensure_ascii=False))
