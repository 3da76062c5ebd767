"""``waihu talk`` (the audio simulator) and ``waihu tts warm`` (synthesise a flow's fixed prompts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from dialog.loader import load_flow
from dialog.problems import FlowError

console = Console()
tts_app = typer.Typer(help="Text-to-speech: prompt cache.", no_args_is_help=True)


@tts_app.command("warm")
def warm(flow_path: Annotated[Path, typer.Argument(metavar="FLOW")]) -> None:
    """Synthesise the flow's fixed prompts into the prompt cache (variable parts are done per call)."""
    from nlu.paths import data_dir
    from waihu.voice.call_builder import default_synthesizer
    from waihu.voice.speech_output import SpeechOutput, fixed_texts

    try:
        flow = load_flow(flow_path)
    except FlowError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    texts = fixed_texts(flow)
    speech = SpeechOutput(
        default_synthesizer(), data_dir() / "cache" / "prompts", language=flow.flow.language
    )
    new = cached = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("synthesising prompts", total=len(texts))
        for text in texts:
            made, had = speech.warm([text])
            new, cached = new + made, cached + had
            progress.advance(task)
    console.print(f"{len(texts)} fixed prompts, by clause: {new} synthesised, {cached} already cached")


def talk(
    flow_path: Annotated[Path, typer.Argument(metavar="FLOW", help="Flow YAML file.")],
    customer: Annotated[Path, typer.Option("--customer", help="Scripted customer turns (YAML).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for robot/customer/call WAVs and result.json.")
    ] = None,
    classifier: Annotated[
        str, typer.Option("--classifier", help="NLU: default, rules or model.")
    ] = "default",
) -> None:
    """Run the real voice loop (VAD, ASR, NLU, engine, TTS, barge-in, timers) against a scripted customer."""
    from waihu.voice.talk import talk_from_files

    try:
        with console.status("loading models and running the call"):
            report = talk_from_files(flow_path, customer, out, classifier)
    except FlowError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    except (KeyError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    loop = report.loop
    assert loop is not None
    lines = [(t, who, text) for t, who, text in report.transcript]
    lines += [(e.time_s, "event", f"{e.kind} {e.detail}".strip()) for e in loop.events]
    for t, who, text in sorted(lines, key=lambda item: item[0]):
        style = {"robot": "cyan", "callee": "green"}.get(who, "dim")
        console.print(f"[dim]{t:7.2f}s[/] [{style}]{who:>6}[/]: {text}", highlight=False, soft_wrap=True)
    table = Table(title="turn latency: end of customer speech → first robot audio")
    for column in ("customer said", "endpoint (ms)", "ASR+NLU+TTS (ms)", "latency (ms)"):
        table.add_column(column)
    for timing in loop.timings:
        endpoint_ms = (timing.reply_start_s - timing.speech_end_s) * 1000
        table.add_row(
            timing.text, f"{endpoint_ms:.0f}", f"{timing.compute_ms:.0f}", f"{timing.latency_ms:.0f}"
        )
    console.print(table)
    result = report.result
    stats = loop.stats
    console.print(
        f"[bold]grade[/] {result.grade} {result.grade_label}  [bold]outcome[/] {result.outcome}  "
        f"[bold]tags[/] {', '.join(result.tags) or '-'}  [bold]barge-ins[/] {stats.barge_ins} "
        f"([bold]false[/] {stats.false_interruptions})  [bold]no-input[/] {stats.no_inputs}  "
        f"[bold]call[/] {loop.time_s:.1f}s of audio in {report.wall_s:.1f}s",
        highlight=False,
    )
    if report.out_dir:
        console.print(f"audio and result.json in {report.out_dir}")
