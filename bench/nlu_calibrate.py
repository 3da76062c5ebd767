"""Fit the NLU's confidence calibration (``nlu.hybrid.CALIBRATION``) on the dev sets only.

Each dev utterance the model layer decides (not an exact example or a regex) gives the evidence
features of its best intent (:meth:`nlu.hybrid.HybridClassifier.evidence`) and whether that intent
is right (an out-of-domain line is never right). A logistic regression of rightness on the features
is the calibrated confidence; the flow's threshold (0.5) then keeps answers more likely right than
wrong. The blind sets are never read here.

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/nlu_calibrate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialog.loader import load_flow  # noqa: E402
from nlu.base import NO_MATCH  # noqa: E402
from nlu.evaluation import Example, read_examples  # noqa: E402
from nlu.factory import build_classifier  # noqa: E402
from nlu.hybrid import HybridClassifier  # noqa: E402
from nlu.intent_space import candidates  # noqa: E402
from nlu.normalize import is_cjk  # noqa: E402

DATA = ROOT / "tests" / "data"
#: Per flow: sets that may be tuned on (the flow's dev set, its author's set, the credit-card dev
#: and first held-out sets, whose errors were looked at before this issue).
DEV = {
    "telecom_plan_upgrade": ["nlu_dev_telecom_plan_upgrade.tsv", "nlu_telecom_plan_upgrade.tsv"],
    "credit_card_installment": [
        "nlu_dev_credit_card_installment.tsv",
        "nlu_credit_card_dev.tsv",
        "nlu_credit_card_heldout.tsv",
    ],
    "appointment_reminder_en": ["nlu_dev_appointment_reminder_en.tsv", "nlu_appointment_reminder_en.tsv"],
}


def fit_logistic(x: np.ndarray, y: np.ndarray, epochs: int = 4000, lr: float = 0.5) -> np.ndarray:
    """Weights and bias (last) of an L2-light logistic regression by gradient descent."""
    design = np.hstack([x, np.ones((len(x), 1))])
    weights = np.zeros(design.shape[1])
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(design @ weights)))
        weights -= lr * (design.T @ (p - y) / len(y) + 1e-4 * weights)
    return weights


def main() -> None:
    """Print the fitted weights and the reliability before/after on the dev pool."""
    rows: list[tuple[float, float, float, float]] = []
    labels: list[float] = []
    for flow_name, files in DEV.items():
        flow = load_flow(ROOT / "flows" / f"{flow_name}.yaml")
        classifier = build_classifier(flow)
        assert isinstance(classifier, HybridClassifier)
        examples = [ex for name in files for ex in read_examples(DATA / name)]
        examples += [
            Example(ex.intent, ex.text, ex.line, flow.start)
            for ex in read_examples(DATA / "nlu_out_of_domain.tsv")
            if any(is_cjk(ch) for ch in ex.text) == (flow.flow.language == "zh")
        ]
        for example in examples:
            allowed = candidates(flow, example.node)
            normalized, scores, source = classifier.rules.scores(example.text, allowed)
            if not normalized or source in ("example", "pattern"):
                continue
            evidence = classifier.evidence(normalized, scores, allowed)
            if evidence is None:
                continue
            ranked, features = evidence
            rows.append(features)
            labels.append(float(example.intent != NO_MATCH and ranked[0][0] == example.intent))
    x, y = np.asarray(rows), np.asarray(labels)
    weights = fit_logistic(x, y)
    print(f"{len(y)} model-decided dev utterances, {int(y.sum())} right")
    print("CALIBRATION = (" + ", ".join(f"{w:.3f}" for w in weights) + ")")
    p = 1 / (1 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ weights)))
    for name, conf in (("raw", x[:, 0]), ("calibrated", p)):
        print(name)
        for low, high in ((0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)):
            inside = (conf >= low) & (conf < high)
            if inside.any():
                print(
                    f"  [{low:.1f}, {min(high, 1.0):.1f}) accuracy {y[inside].mean():.3f} (n={inside.sum()})"
                )


if __name__ == "__main__":
    main()
