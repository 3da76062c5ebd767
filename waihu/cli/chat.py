"""The text simulator behind ``waihu chat``: a terminal (or piped stdin) plays the callee."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.table import Table

from dialog.schema import Flow
from dialog.state import CallResult
from nlu.base import IntentClassifier
from waihu.conversation import Conversation, TurnOutput
from waihu.live_data import Fetcher

COMMANDS_HELP = (
    "empty line = silence (no-input) · /dtmf N = key press · /hangup = hang up · /state = engine state"
)


def _lines(interactive: bool) -> Iterator[str]:
    while True:
        try:
            line = input("you> ") if interactive else sys.stdin.readline()
        except EOFError:
            return
        if not interactive and line == "":
            return
        yield line.rstrip("\n")


def _show(console: Console, output: TurnOutput) -> None:
    if output.nlu is not None:
        nlu = output.nlu
        console.print(
            f"  [dim]intent[/] [bold]{nlu.intent}[/] [dim]({nlu.confidence:.2f}, {nlu.source})[/]",
            highlight=False,
        )
    for text in output.said:
        console.print(f"[cyan]robot[/]: {text}", highlight=False, soft_wrap=True)
    if output.node:
        console.print(f"  [dim]node[/] {output.node}", highlight=False)


def result_table(result: CallResult) -> Table:
    """The node × intent trace of a call as a table."""
    table = Table(
        title=f"grade {result.grade} · outcome {result.outcome} · tags {', '.join(result.tags) or '-'}"
    )
    for column in ("#", "node", "callee", "intent", "conf", "robot", "next"):
        table.add_column(column, overflow="fold", max_width=48 if column == "robot" else None)
    for turn in result.trace:
        table.add_row(
            str(turn.index),
            turn.node,
            turn.utterance or f"({turn.kind})",
            turn.intent,
            f"{turn.confidence:.2f}",
            turn.reply if len(turn.reply) <= 60 else turn.reply[:58] + "…",
            turn.next_node or "(end)",
        )
    return table


def run_chat(
    flow: Flow,
    variables: dict[str, str],
    classifier: IntentClassifier | None = None,
    *,
    console: Console,
    json_out: bool = False,
    fetcher: Fetcher | None = None,
) -> CallResult:
    """Run an interactive or piped chat until the call ends; print and return the result.

    ``fetcher``: answers the flow's fetch nodes (``waihu chat --fixtures``); none: their error branch.
    """
    interactive = sys.stdin.isatty()
    conv = Conversation(flow, classifier, variables=variables, fetcher=fetcher)
    console.print(f"[bold]{flow.flow.name}[/] ({flow.flow.id} v{flow.flow.version}) — {COMMANDS_HELP}")
    _show(console, conv.start())
    for line in _lines(interactive):
        if conv.finished:
            break
        if not interactive:
            console.print(f"you> {line}", highlight=False, markup=False)
        command = line.strip()
        if command == "/hangup":
            _show(console, conv.hangup())
        elif command.startswith("/dtmf"):
            _show(console, conv.dtmf(command.removeprefix("/dtmf").strip()[:1] or "#"))
        elif command == "/state":
            console.print_json(conv.engine.dump_state())
            continue
        else:
            _show(console, conv.user_says(line))
        if conv.finished:
            break
    if not conv.finished:
        _show(console, conv.hangup())
    result = conv.result()
    console.print(result_table(result))
    console.print(
        f"[bold]grade[/] {result.grade} {result.grade_label}  [bold]outcome[/] {result.outcome}  "
        f"[bold]tags[/] {', '.join(result.tags) or '-'}  [bold]dnc[/] {result.dnc}",
        highlight=False,
    )
    if json_out:
        print(json.dumps(result.model_dump(), ensure_ascii=False))
    return result
