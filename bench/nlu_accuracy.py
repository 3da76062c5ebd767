"""NLU accuracy: rules only vs model only vs combined, per test set, Mandarin and English apart.

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/nlu_accuracy.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from dialog.loader import load_flow  # noqa: E402
from nlu.evaluation import Example, evaluate, read_examples  # noqa: E402
from nlu.factory import CLASSIFIER_KINDS, build_classifier  # noqa: E402
from nlu.normalize import is_cjk  # noqa: E402

SETS = [
    ("credit_card_installment", "tests/data/nlu_credit_card_dev.tsv", "dev (given)"),
    ("credit_card_installment", "tests/data/nlu_credit_card_heldout.tsv", "held-out 1 (blind; seen once)"),
    (
        "credit_card_installment",
        "tests/data/nlu_credit_card_final.tsv",
        "held-out 2 (blind; no example written from it)",
    ),
    ("credit_card_installment", "tests/data/nlu_out_of_domain.tsv", "out of domain (no_match)"),
    ("telecom_plan_upgrade", "tests/data/nlu_telecom_plan_upgrade.tsv", "flow author's set"),
    ("appointment_reminder_en", "tests/data/nlu_appointment_reminder_en.tsv", "flow author's set"),
]


def _language(example: Example) -> str:
    return "zh" if any(is_cjk(ch) for ch in example.text) else "en"


def main() -> None:
    """Print one table row per (set, language) with the accuracy of each classifier kind."""
    table = Table(title="NLU accuracy by classifier")
    for column in ("flow", "set", "lang", "n", *CLASSIFIER_KINDS):
        table.add_column(column)
    classifiers: dict[tuple[str, str], object] = {}
    for flow_name, path, label in SETS:
        data_path = ROOT / path
        if not data_path.is_file():
            continue
        flow = load_flow(ROOT / "flows" / f"{flow_name}.yaml")
        examples = read_examples(data_path)
        for language in ("zh", "en"):
            subset = [ex for ex in examples if _language(ex) == language]
            if not subset:
                continue
            cells = []
            for kind in CLASSIFIER_KINDS:
                key = (flow_name, kind)
                if key not in classifiers:
                    classifiers[key] = build_classifier(flow, kind)
                report = evaluate(classifiers[key], subset)  # type: ignore[arg-type]
                cells.append(f"{report.accuracy:.3f}")
            table.add_row(flow_name, label, language, str(len(subset)), *cells)
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
