"""Test-split AUC and average precision of a trained churn model, as the JSON the pipeline's condition reads.

    python evaluate.py --model DIR --test DIR --output DIR

Runs in a processing job on the built-in XGBoost image (which has xgboost and numpy, and an older Python: keep
this file 3.8-compatible) and locally in tests.
`--model` holds `model.tar.gz` from the training job (or its extracted `xgboost-model`); `--test` holds the
header-less CSV files the preprocessing wrote (label first). Writes `evaluation.json`:
{"binary_classification_metrics": {"auc": {"value": ...}, "average_precision": {"value": ...}}, ...}.
The metrics are computed with numpy (ties handled as scikit-learn does), so the script needs nothing else.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import xgboost

MODEL_FILE = "xgboost-model"
REPORT_FILE = "evaluation.json"


class EvaluationError(Exception):
    """Input the evaluation cannot use; the message says which and why."""


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic with tied scores given their average rank."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        raise EvaluationError(
            f"The test split has {positives} positive and {negatives} negative rows; AUC needs both classes."
        )
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(scores.size, dtype=float)
    sorted_scores = scores[order]
    # Average 1-based rank of each run of equal scores.
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], scores.size]
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Step-wise average precision: sum over distinct thresholds of (recall gained) x precision."""
    positives = labels.sum()
    if positives == 0:
        raise EvaluationError("The test split has no positive rows; average precision needs at least one.")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], labels[order]
    last_of_tie = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    true_positives = np.cumsum(sorted_labels)[last_of_tie]
    predicted = (np.flatnonzero(last_of_tie) + 1).astype(float)
    recall_gain = np.diff(np.r_[0.0, true_positives]) / positives
    return float(np.sum(recall_gain * true_positives / predicted))


def load_model(model_dir: Path) -> xgboost.Booster:
    """The booster from the training job's `model.tar.gz` (or an already extracted `xgboost-model`)."""
    archive = model_dir / "model.tar.gz"
    booster = xgboost.Booster()
    if archive.exists():
        with tarfile.open(archive) as tar, tempfile.TemporaryDirectory() as scratch:
            # The image's Python may predate extraction filters; where they exist, use the safe one.
            tar.extraction_filter = getattr(tarfile, "data_filter", None)
            tar.extract(MODEL_FILE, scratch)
            booster.load_model(str(Path(scratch) / MODEL_FILE))
    elif (model_dir / MODEL_FILE).exists():
        booster.load_model(str(model_dir / MODEL_FILE))
    else:
        raise EvaluationError(f"{model_dir} has neither model.tar.gz nor {MODEL_FILE}.")
    return booster


def load_split(split_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels and features of every CSV part file in `split_dir` (Spark's hidden and marker files skipped)."""
    parts = sorted(p for p in split_dir.rglob("*") if p.is_file() and not p.name.startswith(("_", ".")))
    blocks = [np.loadtxt(p, delimiter=",", ndmin=2) for p in parts if p.stat().st_size > 0]
    if not blocks:
        raise EvaluationError(f"{split_dir} has no test rows.")
    rows = np.vstack(blocks)
    return rows[:, 0].astype(int), rows[:, 1:]


def evaluate(model_dir: Path, test_dir: Path) -> dict:
    labels, features = load_split(test_dir)
    scores = load_model(model_dir).predict(xgboost.DMatrix(features))
    return {
        "binary_classification_metrics": {
            "auc": {"value": roc_auc(labels, scores)},
            "average_precision": {"value": average_precision(labels, scores)},
        },
        "rows": int(labels.size),
        "positives": int(labels.sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--test", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/evaluation"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        report = evaluate(args.model, args.test)
    except EvaluationError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / REPORT_FILE).write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
