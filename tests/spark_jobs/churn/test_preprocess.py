import json

import numpy as np
import pytest
import xgboost
from sklearn.metrics import roc_auc_score

from datagen.churn import COLUMNS, generate
from processing_jobs.churn import evaluate
from spark_jobs.churn import preprocess
from stacks.churn_model.pipeline_definition import SPLIT_SEED
from stacks.churn_model.settings import ChurnModelSettings
from tools.demo.pipeline import train

BAD_ROWS = {
    "wrong_field_count": ["NY,10,415\n", "NY,10,415,382-4657,no,no,0,1,1,1,1,1,1,1,1,1,1,1,1,1,False.,extra\n"],
    "missing_value": ["NY,10,415,382-4657,no,no,,1,1,1,1,1,1,1,1,1,1,1,1,1,False.\n"],
    "not_numeric": [
        "NY,10,415,382-4657,no,no,0,abc,1,1,1,1,1,1,1,1,1,1,1,1,False.\n",
        "NY,10,415,382-4657,no,no,0,NaN,1,1,1,1,1,1,1,1,1,1,1,1,False.\n",
        "NY,10,415,382-4657,no,no,0,1,1,1,1,1,1,1,1,1,1,1,1,Infinity,False.\n",
    ],
    "unknown_category": [
        "ZZ,10,415,382-4657,no,no,0,1,1,1,1,1,1,1,1,1,1,1,1,1,False.\n",
        "NY,10,999,382-4657,no,no,0,1,1,1,1,1,1,1,1,1,1,1,1,1,False.\n",
    ],
    "bad_label": ["NY,10,415,382-4657,no,no,0,1,1,1,1,1,1,1,1,1,1,1,1,1,maybe\n"],
}


def read_split(folder):
    parts = [p for p in sorted(folder.iterdir()) if p.name.startswith("part-") and p.stat().st_size]
    return np.vstack([np.loadtxt(p, delimiter=",", ndmin=2) for p in parts])


@pytest.fixture(scope="module")
def prepared(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("churn")
    generate(root / "raw" / "customers.csv", rows=20_000, seed=11)
    with (root / "raw" / "customers.csv").open("a") as handle:
        handle.writelines(line for lines in BAD_ROWS.values() for line in lines)
    args = preprocess.JobArguments(input=str(root / "raw"), output=str(root / "features"), seed=SPLIT_SEED)
    return root, preprocess.run(spark, args)


def test_report_counts_each_rejected_row_once_by_reason(prepared):
    root, report = prepared
    assert report["rejected"] == {reason: len(lines) for reason, lines in BAD_ROWS.items()}
    assert report["rows_read"] == 20_000 + sum(map(len, BAD_ROWS.values()))
    assert sum(s["rows"] for s in report["splits"].values()) == 20_000
    assert json.loads((root / "features" / "report.json").read_text()) == report
    rejected = [
        json.loads(line) for p in (root / "features" / "rejected").glob("part-*") for line in p.read_text().splitlines()
    ]
    assert sorted(r["reason"] for r in rejected) == sorted(r for r, lines in BAD_ROWS.items() for _ in lines)


def test_splits_are_70_20_10_label_first_header_less_one_hot(prepared):
    root, report = prepared
    splits = {name: read_split(root / "features" / name) for name in ("train", "validation", "test")}
    sizes = {name: len(rows) / 20_000 for name, rows in splits.items()}
    assert sizes == pytest.approx({"train": 0.7, "validation": 0.2, "test": 0.1}, abs=0.015)
    assert not list((root / "features" / "train").glob("_SUCCESS"))
    train = splits["train"]
    assert train.shape[1] == 1 + len(preprocess.FEATURES) == 1 + 11 + 51 + 3 + 2 + 2
    assert set(np.unique(train[:, 0])) == {0.0, 1.0}
    assert train[:, 0].sum() == report["splits"]["train"]["positives"]
    offset = 1 + len(preprocess.NUMERIC)
    for values in preprocess.CATEGORIES.values():
        assert (train[:, offset : offset + len(values)].sum(axis=1) == 1).all()
        offset += len(values)


def test_split_depends_on_the_record_and_seed_not_on_partitioning(spark, prepared, tmp_path):
    root, _ = prepared
    rows = (root / "raw" / "customers.csv").read_text().splitlines(keepends=True)
    (tmp_path / "raw").mkdir()
    header, body = rows[0], rows[1:20_001]
    for index in range(4):  # same records, reversed, in four files
        (tmp_path / "raw" / f"part{index}.csv").write_text(header + "".join(body[::-1][index::4]))
    preprocess.run(spark, preprocess.JobArguments(str(tmp_path / "raw"), str(tmp_path / "features"), SPLIT_SEED))

    def as_set(folder):
        return {tuple(row) for row in read_split(folder)}

    assert as_set(tmp_path / "features" / "test") == as_set(root / "features" / "test")
    preprocess.run(spark, preprocess.JobArguments(str(tmp_path / "raw"), str(tmp_path / "other"), SPLIT_SEED + 1))
    assert as_set(tmp_path / "other" / "test") != as_set(root / "features" / "test")


def test_no_split_folder_holds_an_empty_part_file(spark, tmp_path):
    """Spark's first write task writes a 0-byte part even when its partition has no row of the split; the XGBoost
    container fails on an empty CSV file. Small input splits make partition 0 miss validation and test rows (with
    these 40 rows both; each input split is a task of every stage, so more rows only cost CPU)."""
    generate(tmp_path / "raw.csv", rows=40, seed=5)
    args = preprocess.JobArguments(input=str(tmp_path / "raw.csv"), output=str(tmp_path / "features"), seed=SPLIT_SEED)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "256")
    try:
        report = preprocess.run(spark, args)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    for name in ("train", "validation", "test"):
        parts = list((tmp_path / "features" / name).glob("part-*"))
        assert parts and all(part.stat().st_size > 0 for part in parts), name
        assert sum(len(part.read_text().splitlines()) for part in parts) == report["splits"][name]["rows"]


def test_an_empty_split_stops_the_job(spark, tmp_path):
    generate(tmp_path / "raw.csv", rows=2, seed=5)
    args = preprocess.JobArguments(input=str(tmp_path / "raw.csv"), output=str(tmp_path / "features"), seed=SPLIT_SEED)
    with pytest.raises(preprocess.JobInputError, match=r"No rows for the .*split"):
        preprocess.run(spark, args)


def test_missing_columns_stop_the_job_with_their_names(spark, tmp_path):
    (tmp_path / "raw.csv").write_text(",".join(c for c in COLUMNS if c not in ("Phone", "Churn?")) + "\n")
    with pytest.raises(preprocess.JobInputError, match=r"Churn\?, Phone"):
        preprocess.run(spark, preprocess.JobArguments(str(tmp_path / "raw.csv"), str(tmp_path / "out")))


def test_mostly_bad_input_fails_after_writing_the_report(spark, tmp_path):
    generate(tmp_path / "raw" / "a.csv", rows=20, seed=1)
    with (tmp_path / "raw" / "a.csv").open("a") as handle:
        handle.writelines(BAD_ROWS["not_numeric"] * 5)
    with pytest.raises(preprocess.JobInputError, match="more than --max-reject-fraction=0.1"):
        preprocess.run(spark, preprocess.JobArguments(str(tmp_path / "raw"), str(tmp_path / "out")))
    assert json.loads((tmp_path / "out" / "report.json").read_text())["rejected"]["not_numeric"] == 15


def test_bad_arguments_exit_2(capsys):
    assert preprocess.main(["--input", "x", "--output", "y", "--max-reject-fraction", "2"]) == 2
    assert "--max-reject-fraction" in capsys.readouterr().err


def test_local_proof_xgboost_with_the_pipelines_hyperparameters_reaches_the_minimum_auc(prepared, tmp_path):
    """Preprocessing as the pipeline runs it, training as the built-in algorithm does, evaluation by the script."""
    root, _ = prepared
    booster = train(root / "features", tmp_path / "model")
    assert (
        evaluate.main(
            [
                "--model",
                str(tmp_path / "model"),
                "--test",
                str(root / "features" / "test"),
                "--output",
                str(tmp_path / "evaluation"),
            ]
        )
        == 0
    )
    auc = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())["binary_classification_metrics"]["auc"][
        "value"
    ]
    test = read_split(root / "features" / "test")
    assert auc == pytest.approx(roc_auc_score(test[:, 0], booster.predict(xgboost.DMatrix(test[:, 1:]))), abs=1e-9)
    assert (
        auc
        >= ChurnModelSettings.PROFILE_DEFAULTS["sandbox"]["churn_min_auc"]
        == ChurnModelSettings.PROFILE_DEFAULTS["production"]["churn_min_auc"]
    )
    print(f"local proof: test AUC {auc:.4f} on {len(test)} rows")
