"""``waihu demo --simulator``: the demo campaign without SIP, with a results table.

Each contact is a scripted callee typing to the real engine and NLU (``waihu demo`` without
``--simulator`` runs the real campaign: :mod:`waihu.demos.campaign`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from dialog.loader import load_flow
from dialog.state import CallResult
from dialog.yaml_positions import load_yaml
from nlu.factory import build_classifier
from waihu.cli.chat import result_table
from waihu.conversation import Conversation
from waihu.privacy import mask_phone


class DemoContact(BaseModel):
    """A scripted callee."""

    model_config = ConfigDict(extra="allow")

    phone: str
    says: list[str] = Field(default_factory=list)

    def variables(self) -> dict[str, str]:
        """Prompt variables: every extra field (name, amount...)."""
        return {key: str(value) for key, value in (self.model_extra or {}).items()}


class DemoCampaign(BaseModel):
    """The demo campaign file."""

    model_config = ConfigDict(extra="forbid")

    flow: str
    variables: dict[str, str] = Field(default_factory=dict)
    contacts: list[DemoContact]


def run_contact(conv: Conversation, says: list[str]) -> CallResult:
    """Play a scripted callee until the call ends."""
    conv.start()
    for line in says:
        if conv.finished:
            break
        if line == "/hangup":
            conv.hangup()
        else:
            conv.user_says(line)
    if not conv.finished:
        conv.hangup()
    return conv.result()


def run_demo(
    campaign_path: Path, console: Console, classifier_kind: str = "default"
) -> list[tuple[DemoContact, CallResult]]:
    """Run every contact of the campaign; print the first transcript and a summary table."""
    campaign = DemoCampaign.model_validate(load_yaml(campaign_path.read_text(encoding="utf-8")))
    flow = load_flow(campaign_path.parent / campaign.flow)
    with console.status("loading the NLU model"):
        classifier = build_classifier(flow, classifier_kind)
    results: list[tuple[DemoContact, CallResult]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"calling {len(campaign.contacts)} contacts", total=len(campaign.contacts))
        for contact in campaign.contacts:
            conv = Conversation(flow, classifier, variables={**campaign.variables, **contact.variables()})
            results.append((contact, run_contact(conv, contact.says)))
            progress.advance(task)
    first_contact, first = results[0]
    console.print(f"\n[bold]Transcript of the call to {mask_phone(first_contact.phone)}[/]")
    console.print(result_table(first))
    table = Table(title=f"demo campaign · {flow.flow.name} ({flow.flow.id} v{flow.flow.version})")
    for column in ("phone", "name", "grade", "label", "outcome", "rounds", "FAQs", "tags", "dnc"):
        table.add_column(column, no_wrap=column in ("phone", "grade", "outcome", "rounds", "dnc"))
    for contact, result in results:
        table.add_row(
            mask_phone(contact.phone),
            contact.variables().get("name", ""),
            result.grade,
            result.grade_label,
            result.outcome,
            str(result.rounds),
            ", ".join(result.kb_hits) or "-",
            ", ".join(result.tags) or "-",
            "yes" if result.dnc else "",
        )
    console.print(table)
    grades = Counter(result.grade for _contact, result in results)
    summary = "  ".join(f"{grade}: {grades.get(grade, 0)}" for grade in flow.grading.grades)
    console.print(
        f"[bold]grades[/] {summary}   [bold]transferred[/] "
        f"{sum(r.outcome == 'transferred' for _c, r in results)}/{len(results)}"
    )
    return results
