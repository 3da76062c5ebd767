"""``waihu nlu``: classify utterances and evaluate the NLU on labelled files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from dialog.loader import load_flow
from dialog.problems import FlowError
from dialog.schema import Flow
from nlu.base import IntentClassifier
from nlu.evaluation import DataFileError, EvalReport, evaluate, read_examples
from nlu.factory import CLASSIFIER_KINDS, build_classifier
from nlu.intent_space import candidates

nlu_app = typer.Typer(help="Intent classification: classify and evaluate.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

FlowOption = Annotated[Path, typer.Option("--flow", help="Flow YAML file whose intents and KB compete.")]
NodeOption = Annotated[
    str | None, typer.Option("--node", help="Only the intents this node handles (+ globals, KB).")
]
KindOption = Annotated[str, typer.Option("--classifier", help=f"One of: {', '.join(CLASSIFIER_KINDS)}.")]


def _load(flow_path: Path) -> Flow:
    try:
        return load_flow(flow_path)
    except FlowError as exc:
        for problem in exc.problems:
            err_console.print(problem.format(), markup=False)
        raise typer.Exit(1) from exc


def _setup(flow: Flow, node: str | None, kind: str) -> tuple[IntentClassifier, list[str]]:
    if node is not None and node not in flow.nodes:
        raise typer.BadParameter(f"node {node!r} is not in the flow", param_hint="--node")
    if kind not in CLASSIFIER_KINDS:
        raise typer.BadParameter(f"unknown classifier {kind!r}", param_hint="--classifier")
    return build_classifier(flow, kind), candidates(flow, node)


@nlu_app.command("classify")
def classify(
    texts: Annotated[list[str], typer.Argument(metavar="TEXT...", help="Utterances to classify.")],
    flow: FlowOption,
    node: NodeOption = None,
    kind: KindOption = "default",
) -> None:
    """Print one JSON object per text: {"text", "intent", "confidence"}."""
    classifier, allowed = _setup(_load(flow), node, kind)
    for text in texts:
        result = classifier.classify(text, allowed)
        print(
            json.dumps(
                {"text": text, "intent": result.intent, "confidence": round(result.confidence, 4)},
                ensure_ascii=False,
            )
        )


def _print_report(report: EvalReport) -> None:
    table = Table(title="per-intent precision / recall")
    for column in ("intent", "precision", "recall", "support"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for intent in sorted(report.gold):
        table.add_row(
            intent,
            f"{report.precision(intent):.3f}",
            f"{report.recall(intent):.3f}",
            str(report.gold[intent]),
        )
    console.print(table)
    if report.confusions:
        confusions = Table(title="worst confusions")
        for column in ("gold", "predicted", "count", "example"):
            confusions.add_column(column)
        for (gold, predicted), count in report.confusions.most_common(10):
            example = next(
                ex.text for ex, pred, _c in report.errors if ex.intent == gold and pred == predicted
            )
            confusions.add_row(gold, predicted, str(count), example)
        console.print(confusions)


@nlu_app.command("eval")
def eval_command(
    flow: FlowOption,
    data: Annotated[Path, typer.Option("--data", help="File of intent<TAB>text lines.")],
    node: NodeOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as one JSON line.")] = False,
    kind: KindOption = "default",
    per_node: Annotated[
        bool,
        typer.Option(
            "--per-node",
            help="Classify each line at the node of its third column (intent<TAB>text<TAB>node), "
            "as in a real call; lines without a node compete among all intents.",
        ),
    ] = False,
) -> None:
    """Per-intent precision/recall, worst confusions and, as the last line, the accuracy."""
    loaded = _load(flow)
    if per_node and node is not None:
        raise typer.BadParameter("give either --node or --per-node", param_hint="--per-node")
    classifier, allowed = _setup(loaded, node, kind)
    try:
        examples = read_examples(data)
    except (DataFileError, OSError) as exc:
        err_console.print(str(exc), markup=False)
        raise typer.Exit(2) from exc
    if per_node:
        unknown = next((ex for ex in examples if ex.node and ex.node not in loaded.nodes), None)
        if unknown is not None:
            err_console.print(
                f"{data}:{unknown.line}: node {unknown.node!r} is not in the flow", markup=False
            )
            raise typer.Exit(2)
    at_node = (lambda name: candidates(loaded, name)) if per_node else None
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("classifying", total=len(examples))
        report = evaluate(
            classifier, examples, allowed, lambda: progress.advance(task), node_candidates=at_node
        )
    if json_out:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        _print_report(report)
    print(report.accuracy_line())
