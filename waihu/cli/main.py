"""The ``waihu`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dialog.flow_files import FileAccess
from dialog.loader import load_flow, load_flow_file
from dialog.problems import FlowError
from dialog.schema import Flow, json_schema
from waihu.cli.bundle import bundle
from waihu.cli.config import config
from waihu.cli.dial import dial
from waihu.cli.kb import kb_app
from waihu.cli.models import models_app
from waihu.cli.nlu import nlu_app
from waihu.cli.options import parse_vars
from waihu.cli.service import db_app, keys_app, serve, worker
from waihu.cli.speech import speech_app
from waihu.cli.talk import talk, tts_app
from waihu.cli.tts import say

app = typer.Typer(help="waihu — outbound voice robot.", no_args_is_help=True, add_completion=False)
flow_app = typer.Typer(help="Validate, test and inspect flows.", no_args_is_help=True)
app.add_typer(flow_app, name="flow")
flow_app.command("bundle")(bundle)  # flow + recordings → the zip POST /v1/flows takes
app.add_typer(nlu_app, name="nlu")
app.add_typer(models_app, name="models")
app.add_typer(kb_app, name="kb")
app.add_typer(tts_app, name="tts")
tts_app.command("say")(say)  # `waihu tts say` next to `waihu tts warm`
app.command("talk")(talk)
app.command("dial")(dial)
app.command("serve")(serve)
app.command("worker")(worker)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(speech_app, name="speech")
app.command("config")(config)

console = Console()
ClassifierOption = Annotated[
    str, typer.Option("--classifier", help="NLU: default (rules + e5 model), rules, or model.")
]
err_console = Console(stderr=True)


def _load_or_exit(path: Path) -> Flow:
    try:
        return load_flow(path)
    except FlowError as exc:
        for problem in exc.problems:
            err_console.print(problem.format(), markup=False, highlight=False)
        raise typer.Exit(1) from exc


def expand_flow_paths(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for the flow files directly inside it (``*.yaml``)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.y*ml") if p.is_file())
            if not found:
                raise typer.BadParameter(f"{path} holds no flow files (*.yaml)", param_hint="PATHS")
            out += found
        else:
            out.append(path)
    return out


@flow_app.command("validate")
def flow_validate(
    paths: Annotated[list[Path], typer.Argument(help="Flow YAML files.")],
    allow_outside_files: Annotated[
        bool,
        typer.Option(
            "--allow-outside-files",
            help="Let flows name files outside their own directory (absolute paths, '..').",
        ),
    ] = False,
    nlu_lint: Annotated[
        bool,
        typer.Option(
            "--nlu-lint/--no-nlu-lint",
            help="Also warn about NLU weak spots: near-duplicate examples, ambiguous keywords, few examples.",
        ),
    ] = True,
) -> None:
    """Check flows for schema and semantic problems, printed as FILE:LINE:COL: message."""
    files = FileAccess.local(allow_outside=True) if allow_outside_files else None
    errors = 0
    for path in expand_flow_paths(paths):
        loaded = load_flow_file(path, files=files)
        for problem in loaded.problems:
            print(problem.format())
        errors += len(loaded.errors)
        if nlu_lint and loaded.flow is not None and not loaded.errors:
            from nlu.lint import CachedEmbedder, lint_problems
            from nlu.paths import data_dir

            for problem in lint_problems(path, loaded.flow, CachedEmbedder(data_dir())):
                print(problem.format())
        if not loaded.errors:
            console.print(f"[green]ok[/] {path}", highlight=False)
    if errors:
        print(f"{errors} error(s)", file=sys.stderr)
        raise typer.Exit(1)


@flow_app.command("schema")
def flow_schema() -> None:
    """Print the JSON Schema of flow files (for editor autocompletion)."""
    print(json.dumps(json_schema(), ensure_ascii=False, indent=2))


@flow_app.command("test")
def flow_test(
    paths: Annotated[
        list[Path], typer.Argument(help="Flow files (their tests/ file is used) or test files.")
    ],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print transcripts.")] = False,
    classifier: ClassifierOption = "default",
) -> None:
    """Run flow tests: scripted conversations with expectations."""
    from waihu.flowtest import run_test_file

    table = Table(title="flow tests")
    for column in ("flow test file", "case", "result"):
        table.add_column(column, overflow="fold")
    failed = passed = 0
    details: list[str] = []
    for path in expand_flow_paths(paths):
        try:
            results = run_test_file(path, classifier)
        except (ValueError, OSError) as exc:
            err_console.print(str(exc), markup=False)
            failed += 1
            continue
        for result in results:
            if result.passed:
                passed += 1
            else:
                failed += 1
                details.append(f"{path} :: {result.name}")
                details += [f"  {failure}" for failure in result.failures]
            if verbose or not result.passed:
                details += [f"    {line}" for line in result.transcript]
            table.add_row(path.name, result.name, "[green]pass[/]" if result.passed else "[red]FAIL[/]")
    console.print(table)
    for line in details:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    print(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@app.command("chat")
def chat(
    flow_path: Annotated[Path, typer.Argument(metavar="FLOW", help="Flow YAML file.")],
    var: Annotated[
        list[str] | None, typer.Option("--var", help="Variable as key=value (repeatable).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the final result as JSON.")] = False,
    classifier: ClassifierOption = "default",
    fixtures: Annotated[
        Path | None,
        typer.Option(help="YAML answers of the fetch nodes (a flow test file's fixtures: or a mapping)."),
    ] = None,
) -> None:
    """Chat with a flow as the callee: an empty line is a no-input timeout, /hangup hangs up."""
    from nlu.factory import build_classifier
    from waihu.cli.chat import run_chat
    from waihu.live_data import FixtureFetcher, load_fixtures

    flow = _load_or_exit(flow_path)
    variables = parse_vars(var)
    missing = flow.missing_variables(variables)
    if missing:
        example = " ".join(f"--var {name}=..." for name in missing)
        raise typer.BadParameter(f"the flow requires {', '.join(missing)}: add {example}", param_hint="--var")
    try:
        fetcher = FixtureFetcher(load_fixtures(fixtures)) if fixtures is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fixtures") from exc
    nlu = build_classifier(flow, classifier)
    run_chat(flow, variables, nlu, console=console, json_out=json_out, fetcher=fetcher)


@app.command("demo")
def demo(
    simulator: Annotated[
        bool, typer.Option("--simulator", help="Only the text simulator: scripted callees, no SIP.")
    ] = False,
    campaign: Annotated[Path, typer.Option(help="Simulator campaign file.")] = Path(
        "demo/credit_card_campaign.yaml"
    ),
    workdir: Annotated[Path, typer.Option(help="Where the demo keeps its database and recordings.")] = Path(
        "var/demo"
    ),
    classifier: ClassifierOption = "default",
) -> None:
    """Run the demo campaign end to end: API, SQLite, scheduler, worker, SIP peers, webhooks."""
    if simulator:
        from waihu.demos.scripted import run_demo

        run_demo(campaign, console, classifier)
        return
    from waihu.demos.campaign import run_campaign_demo

    run_campaign_demo(console, workdir)


def main() -> None:
    """Entry point of the ``waihu`` console script."""
    app()


if __name__ == "__main__":
    main()
