"""``waihu kb``: try questions against a flow's knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dialog.loader import load_flow
from dialog.problems import FlowError
from knowledge_base.store import KnowledgeBase

kb_app = typer.Typer(help="Knowledge base: search a flow's FAQs.", no_args_is_help=True)


@kb_app.command("search")
def search(
    questions: Annotated[list[str], typer.Argument(metavar="QUESTION...")],
    flow: Annotated[Path, typer.Option("--flow", help="Flow whose knowledge base is searched.")],
    top: Annotated[int, typer.Option("--top", min=1, max=20, help="Entries per question.")] = 3,
) -> None:
    """Print one JSON object per question: the best entries with answer and score."""
    from knowledge_base.retrieval import retriever_for

    try:
        kb = KnowledgeBase.from_flow(load_flow(flow))
    except FlowError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    retriever = retriever_for(kb)
    for question in questions:
        hits = [
            {"entry": h.entry_id, "score": h.score, "answer": h.answer}
            for h in retriever.search(question, top)
        ]
        print(json.dumps({"question": question, "hits": hits}, ensure_ascii=False))
