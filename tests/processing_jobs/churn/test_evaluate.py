import json
import tarfile

import numpy as np
import pytest
import xgboost
from sklearn.metrics import average_precision_score, roc_auc_score

from processing_jobs.churn import evaluate


@pytest.mark.parametrize("seed, positives, distinct", [(1, 0.5, 1000), (2, 0.05, 20), (3, 0.01, 3), (4, 0.3, 2)])
def test_metrics_match_scikit_learn_including_ties(seed, positives, distinct):
    rng = np.random.default_rng(seed)
    labels = (rng.random(5000) < positives).astype(int)
    labels[:2] = (0, 1)
    scores = np.round(rng.random(5000) * 0.7 + labels * 0.3, 6)
    scores = np.floor(scores * distinct) / distinct  # ties
    assert evaluate.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert evaluate.average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_single_class_test_split_is_a_clear_error():
    with pytest.raises(evaluate.EvaluationError, match="both classes"):
        evaluate.roc_auc(np.zeros(10, int), np.linspace(0, 1, 10))


def write_split(directory, labels, features):
    directory.mkdir(parents=True)
    np.savetxt(directory / "part-00000.csv", np.column_stack([labels, features]), delimiter=",", fmt="%.17g")
    (directory / "_SUCCESS").write_text("")
    (directory / ".part-00000.csv.crc").write_text("not csv")


def test_evaluates_a_training_job_archive(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.random((2000, 3))
    labels = (features[:, 0] + 0.3 * rng.random(2000) > 0.7).astype(int)
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(features, labels), 20)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    booster.save_model(str(tmp_path / evaluate.MODEL_FILE))
    with tarfile.open(model_dir / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / evaluate.MODEL_FILE, arcname=evaluate.MODEL_FILE)
    write_split(tmp_path / "test", labels, features)
    assert (
        evaluate.main(["--model", str(model_dir), "--test", str(tmp_path / "test"), "--output", str(tmp_path / "out")])
        == 0
    )
    report = json.loads((tmp_path / "out" / evaluate.REPORT_FILE).read_text())
    expected = roc_auc_score(labels, booster.predict(xgboost.DMatrix(features)))
    assert report["binary_classification_metrics"]["auc"]["value"] == pytest.approx(expected, abs=1e-9)
    assert report["rows"] == 2000 and report["positives"] == int(labels.sum())


def test_missing_model_or_rows_exit_with_a_message(tmp_path, capsys):
    (tmp_path / "test").mkdir()
    assert (
        evaluate.main(["--model", str(tmp_path), "--test", str(tmp_path / "test"), "--output", str(tmp_path / "o")])
        == 2
    )
    assert "no test rows" in capsys.readouterr().err
    write_split(tmp_path / "test2", np.array([0, 1]), np.array([[1.0], [2.0]]))
    assert (
        evaluate.main(["--model", str(tmp_path), "--test", str(tmp_path / "test2"), "--output", str(tmp_path / "o")])
        == 2
    )
    assert "neither model.tar.gz nor xgboost-model" in capsys.readouterr().err
