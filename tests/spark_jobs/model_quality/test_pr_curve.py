"""The precision-recall job on local Spark: metrics against scikit-learn, bad records, idempotence, rollups."""

import dataclasses
import json
import math
from collections import Counter
from dataclasses import dataclass
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrameWriter
from sklearn.metrics import average_precision_score, roc_auc_score

from datagen.data_capture import capture_dir, capture_line, ground_truth_dir, ground_truth_line, write_scored_day
from spark_jobs.model_quality import metrics, pr_curve, records
from tests.spark_jobs.model_quality import cases

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
FEATURES = "1,2,3"


class Day:
    """Capture and ground-truth files for one test day, written line by line."""

    def __init__(self, root: Path):
        self.captures, self.ground_truth, self.output = root / "captures", root / "ground-truth", root / "results"
        self.captures.mkdir(parents=True, exist_ok=True)
        self.ground_truth.mkdir(parents=True, exist_ok=True)

    def capture(self, *lines, moment=NOON, name="part"):
        directory = capture_dir(self.captures, moment)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / f"{name}.jsonl", "a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)

    def label(self, *lines, moment=NOON, name="part"):
        directory = ground_truth_dir(self.ground_truth, moment)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / f"{name}.jsonl", "a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)

    def scored(self, scores, labels):
        self.capture(
            *(capture_line(f"e{i}", repr(s), NOON, FEATURES, inference_id=f"r{i}") for i, s in enumerate(scores))
        )
        self.label(*(ground_truth_line(f"r{i}", str(y)) for i, y in enumerate(labels)))
        return self

    def arguments(self, day=DAY, **overrides):
        return pr_curve.JobArguments(
            captures=str(self.captures),
            ground_truth=str(self.ground_truth),
            date=day,
            output=str(self.output),
            **overrides,
        )

    def stored(self, dataset, day=DAY):
        return sorted(
            p
            for p in (self.output / dataset / f"dt={day.isoformat()}").glob("*")
            if p.is_file() and not p.name.startswith((".", "_"))
        )

    def rejects(self, day=DAY):
        return [json.loads(line) for path in self.stored("rejects", day) for line in path.read_text().splitlines()]


def wilson(name, successes, trials):
    lower, upper = metrics.wilson_interval(successes, trials)
    return {f"{name}_lower": pytest.approx(lower), f"{name}_upper": pytest.approx(upper)}


@pytest.fixture(scope="module")
def scored_case(spark, tmp_path_factory):
    """The job's run over a dataset of `cases`, with two requested thresholds: once per dataset in this module,
    shared by the test of its metrics and the test of its stored outputs (each run costs seconds of CPU)."""
    runs = {}

    def run_of(dataset):
        if dataset not in runs:
            scores, labels = dataset()
            day = Day(tmp_path_factory.mktemp(dataset.__name__)).scored(scores, labels)
            runs[dataset] = day, scores, labels, pr_curve.run(spark, day.arguments(thresholds=(0.2, 0.5)))
        return runs[dataset]

    return run_of


@pytest.mark.parametrize("dataset", [cases.ties_and_extremes, cases.rare_positives])
def test_job_metrics_match_scikit_learn(scored_case, dataset):
    _, scores, labels, summary = scored_case(dataset)
    assert summary["average_precision"] == pytest.approx(average_precision_score(labels, scores), abs=1e-4)
    assert summary["roc_auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-4)
    assert summary["average_precision_lower"] <= average_precision_score(labels, scores)
    assert average_precision_score(labels, scores) <= summary["average_precision_upper"]
    assert (summary["positives"], summary["negatives"]) == (sum(labels), len(labels) - sum(labels))
    assert summary["rows_joined"] == summary["rows_captured"] == summary["rows_labeled"] == len(scores)
    assert summary["label_coverage"] == 1.0


def test_outputs_have_the_documented_shape(spark, scored_case):
    day, scores, labels, summary = scored_case(cases.ties_and_extremes)
    assert list(summary) == [
        "date",
        "rows_captured",
        "rows_labeled",
        "rows_joined",
        "label_coverage",
        "positives",
        "negatives",
        "average_precision",
        "average_precision_lower",
        "average_precision_upper",
        "average_precision_ci_lower",
        "average_precision_ci_upper",
        "roc_auc",
        "best_f1_threshold",
        "thresholds",
        "target_half_width",
        "capture_percent_for_target",
        "rejected",
    ]
    assert summary["average_precision_ci_lower"] < summary["average_precision"] < summary["average_precision_ci_upper"]
    assert 1 <= summary["capture_percent_for_target"] <= 100
    [summary_file] = day.stored("summary")
    assert json.loads(summary_file.read_text()) == summary
    assert [t["threshold"] for t in summary["thresholds"]] == [0.2, 0.5]

    histogram = spark.read.parquet(str(day.output / "histogram")).where(f"dt = '{DAY}'")
    assert histogram.columns == ["bin", "lower", "upper", "positives", "negatives", "dt"]
    totals = histogram.agg({"positives": "sum", "negatives": "sum"}).first()
    assert (totals["sum(positives)"], totals["sum(negatives)"]) == (sum(labels), len(labels) - sum(labels))
    curve = spark.read.parquet(str(day.output / "curve" / f"dt={DAY}")).collect()
    assert 0 < len(curve) <= 1000
    thresholds = spark.read.parquet(str(day.output / "thresholds" / f"dt={DAY}")).orderBy("kind", "threshold")
    rows = [(row["kind"], row["threshold"]) for row in thresholds.collect()]
    assert rows == [("best_f1", summary["best_f1_threshold"]), ("requested", 0.2), ("requested", 0.5)]
    assert thresholds.columns == [
        "kind",
        "threshold",
        "precision",
        "recall",
        "f1",
        "fpr",
        "precision_lower",
        "precision_upper",
        "recall_lower",
        "recall_upper",
    ]
    stored = thresholds.where("kind = 'requested'").collect()
    assert [row.asDict() for row in stored] == [{"kind": "requested", **t} for t in summary["thresholds"]]


def test_json_and_base64_payloads_are_scored(spark, tmp_path):
    day = Day(tmp_path)
    day.capture(
        capture_line(
            "e1",
            '{"predictions": [{"score": 0.9}]}',
            NOON,
            FEATURES,
            inference_id="a",
            encoding="JSON",
            content_type="application/json",
        ),
        capture_line("e2", "0.2\n", NOON, FEATURES, inference_id="b", encoding="BASE64"),
        capture_line(
            "e3", '{"score": 0.8}', NOON, FEATURES, inference_id="c", encoding="BASE64", content_type="application/json"
        ),
        capture_line("e4", "0.1,0.9", NOON, FEATURES),  # no InferenceId: joined on the eventId
    )
    day.label(*(ground_truth_line(i, y) for i, y in (("a", "1"), ("b", "0"), ("c", "1"), ("e4", "0"))))
    summary = pr_curve.run(spark, day.arguments())
    assert summary["rows_joined"] == 4
    assert summary["average_precision"] == pytest.approx(1.0)
    assert sum(summary["rejected"].values()) == 0


def bad_day(root: Path) -> Day:
    """A day with every kind of bad record, in known numbers."""
    day = Day(root)
    good = [capture_line(f"e{i}", "0.6", NOON, FEATURES, inference_id=f"r{i}") for i in range(10)]
    day.capture(
        *good,
        "{not json",
        "[1, 2",
        "plain text",  # 3 malformed
        capture_line("", "0.5", NOON, FEATURES),  # missing id (blank eventId, no inferenceId)
        json.dumps({"captureData": {"endpointOutput": {"data": "0.5", "encoding": "CSV"}}}),  # missing id
        *(capture_line(f"bad{i}", value, NOON, FEATURES) for i, value in enumerate(["abc", "NaN", "1.5", "-0.1"])),
        capture_line("e-dup", "0.9", NOON, FEATURES, inference_id="dup"),  # kept: earliest
        capture_line("e-dup2", "0.1", NOON + timedelta(minutes=5), FEATURES, inference_id="dup"),
        capture_line("e-dup3", "0.1", NOON + timedelta(minutes=9), FEATURES, inference_id="dup"),
        *(capture_line(f"lonely{i}", "0.3", NOON, FEATURES) for i in range(5)),  # no label
        "",  # an empty line is not a record
    )
    day.label(
        *(ground_truth_line(f"r{i}", "1" if i < 4 else "0") for i in range(10)),
        "{oops",
        '{"groundTruthData": ',  # 2 malformed
        json.dumps({"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {}}),  # missing id
        *(ground_truth_line(f"r{i}", value) for i, value in zip(range(3), ["2", "yes", "0.5"])),  # invalid
        *(ground_truth_line(f"orphan{i}", "1") for i in range(4)),  # no prediction
        ground_truth_line("dup", "1"),
    )
    day.label(ground_truth_line("dup", "0"), ground_truth_line("dup", "0"), moment=NOON + timedelta(hours=3))
    return day


EXPECTED_REJECTS = {
    "capture_malformed_json": 3,
    "capture_missing_id": 2,
    "capture_invalid_score": 4,
    "ground_truth_malformed_json": 2,
    "ground_truth_missing_id": 1,
    "ground_truth_invalid_label": 3,
    "capture_duplicate_id": 2,
    "ground_truth_duplicate_id": 2,
    "capture_without_label": 5,
    "ground_truth_without_prediction": 4,
}


@dataclass(frozen=True)
class Rerun:
    """What a run left, as the tests below check it."""

    summary: dict
    rejects: list[dict]


@pytest.fixture(scope="module")
def bad_day_runs(spark, tmp_path_factory):
    """The bad day scored, scored again as a retry does, then scored a third time after its raw capture expired:
    three runs shared by the tests of its rejects, of a re-run and of scoring from the extract (each run would
    otherwise start from a fresh copy of the same day)."""
    day = bad_day(tmp_path_factory.mktemp("bad-day"))
    first = Rerun(pr_curve.run(spark, day.arguments()), day.rejects())
    second = Rerun(pr_curve.run(spark, day.arguments()), day.rejects())
    second_stored = {
        "summaries": len(day.stored("summary")),
        "positives": spark.read.parquet(str(day.output / "histogram" / f"dt={DAY}"))
        .groupBy()
        .sum("positives")
        .first()[0],
    }
    shutil.rmtree(day.captures)  # the lifecycle rule expired the raw capture
    from_extract = Rerun(pr_curve.run(spark, day.arguments()), day.rejects())
    return first, second, second_stored, from_extract


def test_each_kind_of_bad_record_is_counted_and_kept(bad_day_runs):
    first = bad_day_runs[0]
    summary = first.summary
    assert summary["rejected"] == EXPECTED_REJECTS
    assert list(summary["rejected"]) == list(records.REASONS)
    written = {}
    for reject in first.rejects:
        written[reject["reason"]] = written.get(reject["reason"], 0) + reject["count"]
        assert ("raw" in reject) != ("id" in reject)
    assert written == EXPECTED_REJECTS
    assert {r["raw"] for r in first.rejects if r["reason"] == "capture_malformed_json"} == {
        "{not json",
        "[1, 2",
        "plain text",
    }
    assert {r["id"] for r in first.rejects if r["reason"] == "ground_truth_without_prediction"} == {
        f"orphan{i}" for i in range(4)
    }
    # Joined: the 10 good ids (4 positive at 0.6) and "dup" (earliest prediction 0.9, earliest label 1).
    assert (summary["rows_joined"], summary["positives"], summary["negatives"]) == (11, 5, 6)
    assert summary["thresholds"][-1] == {
        "threshold": 0.9,
        "precision": 1.0,
        "recall": 0.2,
        "f1": pytest.approx(1 / 3),
        "fpr": 0.0,
        **wilson("precision", 1, 1),
        **wilson("recall", 1, 5),
    }
    assert summary["rows_captured"] == 10 + 3 + 2 + 4 + 3 + 5
    assert summary["rows_labeled"] == 10 + 2 + 1 + 3 + 4 + 3
    assert summary["label_coverage"] == pytest.approx(11 / 16)


def test_a_rerun_replaces_the_day_and_gives_the_same_results(bad_day_runs):
    first, second, stored, _ = bad_day_runs
    assert second.summary == first.summary
    assert sorted(map(json.dumps, second.rejects)) == sorted(map(json.dumps, first.rejects))
    assert stored["summaries"] == 1
    assert stored["positives"] == first.summary["positives"]


def test_labels_are_taken_from_the_delay_window(spark, tmp_path):
    day = Day(tmp_path)
    write_scored_day(day.captures, day.ground_truth, DAY, rows=2_000, positive_rate=0.2, label_delay_days=2)
    same_day = pr_curve.run(spark, day.arguments())
    window = pr_curve.run(spark, day.arguments(label_delay_days=2))
    assert same_day["rows_joined"] < window["rows_joined"]
    assert window["rejected"]["capture_without_label"] < same_day["rejected"]["capture_without_label"]
    assert window["rows_joined"] + window["rejected"]["capture_without_label"] == 2_000


def test_an_empty_day_writes_zero_counts_and_null_metrics(spark, tmp_path):
    day = Day(tmp_path).scored([0.5], [1])
    summary = pr_curve.run(spark, day.arguments(day=DAY + timedelta(days=1)))
    assert summary["rows_captured"] == summary["rows_labeled"] == summary["rows_joined"] == 0
    assert summary["average_precision"] is None and summary["roc_auc"] is None
    assert summary["label_coverage"] is None
    assert set(summary["rejected"].values()) == {0}
    assert len(day.stored("summary", DAY + timedelta(days=1))) == 1


def test_a_single_class_day_has_defined_metrics(spark, tmp_path):
    summary = pr_curve.run(spark, Day(tmp_path).scored([0.2, 0.4, 0.9], [0, 0, 0]).arguments())
    assert summary["average_precision"] is None and summary["roc_auc"] is None
    assert summary["thresholds"][1] == {
        "threshold": 0.5,
        "precision": 0.0,
        "recall": None,
        "f1": None,
        "fpr": 1 / 3,
        **wilson("precision", 0, 1),
        "recall_lower": None,
        "recall_upper": None,
    }


def test_rollup_from_stored_histograms_equals_a_direct_computation(spark, tmp_path):
    day = Day(tmp_path)
    all_scores, all_labels = [], []
    last = DAY + timedelta(days=3)
    for offset, seed in ((0, 1), (1, 2), (3, 3)):  # day 2 has no data
        generated = write_scored_day(
            day.captures, day.ground_truth, DAY + timedelta(days=offset), rows=3_000, positive_rate=0.1, seed=seed
        )
        all_scores += generated.scores
        all_labels += generated.labels
        if offset < 3:
            pr_curve.run(spark, day.arguments(day=DAY + timedelta(days=offset)))
    for dataset in ("captures", "ground-truth"):  # earlier days' raw data is gone: the rollup must not need it
        for path in (tmp_path / dataset).rglob("*.jsonl"):
            if "/2026/11/23/" not in str(path):
                path.unlink()
    pr_curve.run(spark, day.arguments(day=last, rollup_days=5))
    rollup = json.loads((day.output / "rollup" / f"dt={last}" / "rollup.json").read_text())
    counts = {}
    for score, label in zip(all_scores, all_labels):
        pos, neg = counts.get(metrics.bin_of(score, 10_000), (0, 0))
        counts[metrics.bin_of(score, 10_000)] = (pos + label, neg + 1 - label)
    direct = metrics.summarize(metrics.Histogram.from_counts(10_000, counts), [0.1, 0.5, 0.9])
    for key in (
        "positives",
        "negatives",
        "average_precision",
        "average_precision_lower",
        "average_precision_upper",
        "average_precision_ci_lower",
        "average_precision_ci_upper",
        "roc_auc",
        "best_f1_threshold",
        "thresholds",
    ):
        assert rollup[key] == direct[key], key
    assert rollup["days_missing"] == [str(DAY - timedelta(days=1)), str(DAY + timedelta(days=2))]
    assert rollup["average_precision"] == pytest.approx(average_precision_score(all_labels, all_scores), abs=1e-3)


def test_a_capture_root_that_does_not_exist_yet_is_an_empty_day(spark, tmp_path, capsys):
    """A fresh deployment: no endpoint has captured, so the capture prefix does not exist (S3 has no empty
    folders). The run succeeds with a zero-row summary instead of failing every day."""
    day = Day(tmp_path)
    day.label(ground_truth_line("r1", "1"))
    args = pr_curve.JobArguments(
        captures=str(tmp_path / "nowhere"),
        ground_truth=str(day.ground_truth),
        date=DAY,
        output=str(day.output),
        endpoint="churn-endpoint",
    )
    summary = pr_curve.run(spark, args)
    assert summary["rows_captured"] == summary["rows_joined"] == 0 and summary["rows_labeled"] == 1
    assert summary["rejected"]["ground_truth_without_prediction"] == 1
    assert len(day.stored("summary")) == 1
    assert "--captures" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--date", "2026-13-01"], "--date must be YYYY-MM-DD, got '2026-13-01'"),
        (["--bins", "0"], "--bins must be between 10 and 1048576, got 0"),
        (["--thresholds", "0.5,x"], "--thresholds must be comma-separated numbers"),
        (["--thresholds", "1.5"], r"--thresholds must be numbers in \[0, 1\]"),
        (["--rollup-days", "-1"], "--rollup-days must be between 1 and 366"),
    ],
)
def test_unusable_arguments_are_rejected_with_the_allowed_values(bad, message):
    argv = ["--captures", "c", "--ground-truth", "g", "--date", "2026-11-20", "--output", "o"] + bad
    with pytest.raises(pr_curve.JobInputError, match=message):
        pr_curve.parse_arguments(argv)


def test_the_command_line_exits_non_zero_with_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "spark_jobs.model_quality.pr_curve", "--captures", "c"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[3],
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pr_curve: the following arguments are required: --ground-truth, --output"
    ]


def test_the_driver_lists_hour_folders_and_spark_reads_only_their_jsonl_files(spark, tmp_path):
    """Many files in few hour folders: the driver gets one path per hour (Spark lists the files itself, in
    parallel above the threshold); files that are not .jsonl, and other days, are not read."""
    day = Day(tmp_path)
    for i in range(60):
        hour = NOON + timedelta(hours=i % 3)
        day.capture(
            capture_line(f"e{i}", repr((i % 10) / 10), hour, FEATURES, inference_id=f"r{i}"),
            moment=hour,
            name=f"part-{i}",
        )
        day.label(ground_truth_line(f"r{i}", str(i % 2)), moment=hour, name=f"part-{i}")
    (capture_dir(day.captures, NOON) / "part-0.jsonl.tmp").write_text(
        capture_line("x", "0.5", NOON, FEATURES, inference_id="r0") + "\n"
    )
    day.capture(capture_line("y", "0.5", NOON, FEATURES, inference_id="later"), moment=NOON + timedelta(days=1))
    captures = pr_curve.capture_folders(pr_curve.Storage(spark), day.arguments(), DAY)
    _, labels = pr_curve._input_folders(pr_curve.Storage(spark), day.arguments())
    assert [path.rsplit("/", 4)[1:] for path in captures] == [["2026", "11", "20", hour] for hour in ("12", "13", "14")]
    assert len(labels) == 3
    summary = pr_curve.run(spark, day.arguments())
    assert summary["rows_captured"] == summary["rows_joined"] == 60
    assert summary["rejected"]["capture_duplicate_id"] == 0


def test_rejects_are_counted_by_reason_and_only_a_bounded_sample_is_kept(spark, tmp_path):
    """Issue 30: labels whose ids belong to a neighbouring day's captures (normal while labels arrive) were
    written as one reject row per id, tens of TB a day at 150 TB/day. They are counted; a few are kept."""
    day = Day(tmp_path).scored([0.2, 0.8], [0, 1])
    day.label(*(ground_truth_line(f"neighbour{i}", "1") for i in range(300)))
    day.capture(*(f"garbage {i}" for i in range(120)))
    summary = pr_curve.run(spark, day.arguments(reject_sample_size=25))
    assert summary["rejected"]["ground_truth_without_prediction"] == 300
    assert summary["rejected"]["capture_malformed_json"] == 120
    kept = day.rejects()
    assert Counter(r["reason"] for r in kept) == {"ground_truth_without_prediction": 25, "capture_malformed_json": 25}
    assert pr_curve.run(spark, day.arguments(reject_sample_size=25)) == summary
    assert sorted(map(json.dumps, day.rejects())) == sorted(map(json.dumps, kept))  # a re-run keeps the same
    assert pr_curve.run(spark, day.arguments(reject_sample_size=0)) == summary
    assert day.rejects() == []


def test_the_sample_is_limited_before_the_shuffle(spark, tmp_path):
    """Only `size` rows per reason and partition cross the shuffle (Spark's WindowGroupLimit), not every reject."""
    day = Day(tmp_path).scored([0.2, 0.8], [0, 1])
    parsed = pr_curve._parsed_inputs(spark, [str(day.captures)], [str(day.ground_truth)], 100)
    plan = pr_curve._outcomes(pr_curve._by_id(parsed), 50)._jdf.queryExecution().executedPlan().toString()
    assert "WindowGroupLimit" in plan


def test_late_labels_are_scored_from_the_extract_after_raw_capture_expired(spark, tmp_path):
    """Issue 30: the run that scores day D - 1 extracts day D; raw capture of D then expires, and the run that
    scores D a day later, with the labels of D and D + 1, gets from the extract what scikit-learn gets from the
    generated scores."""
    day = Day(tmp_path)
    generated = write_scored_day(
        day.captures, day.ground_truth, DAY, rows=3_000, positive_rate=0.2, label_delay_days=1, uuid_ids=True
    )
    pr_curve.run(spark, day.arguments(day=DAY - timedelta(days=1), label_delay_days=1))
    assert day.stored(pr_curve.EXTRACT)
    shutil.rmtree(day.captures)  # the lifecycle rule expired the raw capture
    summary = pr_curve.run(spark, day.arguments(label_delay_days=1))
    labels, scores = generated.labels, generated.scores
    assert summary["rows_captured"] == 3_000
    assert summary["rows_joined"] == len(labels)
    assert (summary["positives"], summary["negatives"]) == (sum(labels), len(labels) - sum(labels))
    assert summary["average_precision"] == pytest.approx(average_precision_score(labels, scores), abs=1e-4)
    assert summary["roc_auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-4)


def test_the_extract_keeps_the_rejected_records_and_scores_as_the_raw_capture_does(bad_day_runs):
    """Every bad capture record is counted and sampled from the extract as it was from the raw capture."""
    same_day, _, _, rescored = bad_day_runs
    assert rescored.summary == same_day.summary
    assert rescored.summary["rejected"] == EXPECTED_REJECTS
    assert sorted(map(json.dumps, rescored.rejects)) == sorted(map(json.dumps, same_day.rejects))


def test_raw_capture_is_read_only_for_the_newest_day_of_the_window(spark, tmp_path, monkeypatch):
    """Once a day is extracted, the run that scores it reads the raw capture of --date + label delay only, never
    that of a past day, even when it is still there; a day without an extract (the first runs) is extracted."""
    day = Day(tmp_path)
    for offset in range(3):
        write_scored_day(day.captures, day.ground_truth, DAY + timedelta(days=offset), rows=200, seed=offset + 1)
    read = []
    parse = records.parse_captures
    monkeypatch.setattr(records, "parse_captures", lambda spark, paths: read.extend(paths) or parse(spark, paths))

    def days_read():
        return sorted({"-".join(path.rsplit("/", 4)[1:4]) for path in read})

    first = pr_curve.run(spark, day.arguments(label_delay_days=2))  # no extract of DAY yet: it is made
    assert days_read() == ["2026-11-20", "2026-11-22"] and first["rows_captured"] == 200
    read.clear()
    pr_curve.run(spark, day.arguments(day=DAY - timedelta(days=1), label_delay_days=2))  # extracts DAY + 1
    read.clear()
    again = pr_curve.run(spark, day.arguments(label_delay_days=2))
    assert days_read() == ["2026-11-22"]
    assert again == first
    assert spark.read.parquet(str(day.output / pr_curve.EXTRACT / "dt=2026-11-22")).count() == 200


def test_the_extract_is_written_by_split_without_a_shuffle(spark, tmp_path, monkeypatch):
    """Each task writes the extract of its own input split of at most EXTRACT_SPLIT_BYTES of raw capture: no shuffle
    stage (a rebalance cost 1.0 of the extract's 6.4 CPU-s in bench-pr), and the session's split size is restored
    for the scoring step's reads."""
    day = Day(tmp_path).scored([i / 40 for i in range(40)], [i % 2 for i in range(40)])
    monkeypatch.setattr(pr_curve, "EXTRACT_SPLIT_BYTES", 4_000)  # the day's one capture file is about 12 kB
    split_bytes = spark.conf.get(pr_curve.MAX_SPLIT_BYTES_KEY)
    context, tracker = spark.sparkContext, spark.sparkContext.statusTracker()
    context.setJobGroup("extract-by-split", "the extract step")
    try:
        pr_curve.extract_day(spark, pr_curve.Storage(spark), day.arguments(), DAY)
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
    jobs = tracker.getJobIdsForGroup("extract-by-split")
    assert jobs and all(len(tracker.getJobInfo(job).stageIds) == 1 for job in jobs)
    capture_bytes = sum(path.stat().st_size for path in day.captures.rglob("*.jsonl"))
    assert len(day.stored(pr_curve.EXTRACT)) == -(-capture_bytes // 4_000)
    assert spark.read.parquet(str(day.output / pr_curve.EXTRACT / f"dt={DAY}")).count() == 40
    assert spark.conf.get(pr_curve.MAX_SPLIT_BYTES_KEY) == split_bytes


def test_the_shuffle_by_id_is_sized_from_the_input_bytes(spark, tmp_path, monkeypatch):
    """At least one partition per core (a small day), else about SHUFFLE_PARTITION_BYTES of shuffle each; the run
    sets it for its query only, instead of Spark's fixed default of 200."""
    day = Day(tmp_path).scored([0.2, 0.8], [0, 1])
    _, label_folders = pr_curve._input_folders(pr_curve.Storage(spark), day.arguments())
    parsed = pr_curve._parsed_inputs(spark, [], label_folders, 100)
    assert pr_curve.shuffle_partitions(spark, parsed) == spark.sparkContext.defaultParallelism
    label_bytes = sum(path.stat().st_size for path in day.ground_truth.rglob("*.jsonl"))
    monkeypatch.setattr(pr_curve, "SHUFFLE_PARTITION_BYTES", 1)
    expected = math.ceil(label_bytes * pr_curve.SHUFFLE_BYTES_PER_INPUT_BYTE)
    assert expected > spark.sparkContext.defaultParallelism
    assert pr_curve.shuffle_partitions(spark, parsed) == expected
    before, during = spark.conf.get(pr_curve.SHUFFLE_PARTITIONS_KEY), []
    write = DataFrameWriter.json
    monkeypatch.setattr(
        DataFrameWriter,
        "json",
        lambda writer, *a, **k: (
            during.append(spark.conf.get(pr_curve.SHUFFLE_PARTITIONS_KEY)) or write(writer, *a, **k)
        ),
    )
    counts = pr_curve.score_day(
        spark, pr_curve.Storage(spark), day.arguments(), str(tmp_path / "w"), str(tmp_path / "r")
    )
    assert during == [str(expected)]
    assert spark.conf.get(pr_curve.SHUFFLE_PARTITIONS_KEY) == before  # the session's own setting is back
    assert counts.totals["labelled"] == 2  # no extract yet: the labels are counted, none joined


def capture_files(day):
    return sorted(path for path in day.captures.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def two_record_day(spark, tmp_path_factory):
    """A day of two records scored without --delete-extracted-capture (its capture files before and after), then
    scored again once its raw capture has expired: two runs shared by the two tests below."""
    day = Day(tmp_path_factory.mktemp("two-records")).scored([0.2, 0.8], [0, 1])
    before = capture_files(day)
    pr_curve.run(spark, day.arguments())
    after = capture_files(day)
    shutil.rmtree(day.captures)
    return before, after, pr_curve.run(spark, day.arguments())


def test_a_late_rerun_without_raw_capture_keeps_the_extract(two_record_day):
    _, _, summary = two_record_day
    assert summary["rows_joined"] == 2


def test_raw_capture_is_deleted_once_extracted_and_a_retry_scores_from_the_extract(spark, tmp_path):
    """Issue 30: with --delete-extracted-capture the run deletes the hour folders its extract read, after the extract
    is written; a retry of the run (raw capture gone) gives the same summary from the extract."""
    day = Day(tmp_path).scored([0.2, 0.8, 0.6], [0, 1, 1])
    day.capture(capture_line("e9", "0.3", NOON + timedelta(hours=1), FEATURES), moment=NOON + timedelta(hours=1))
    arguments = day.arguments(delete_extracted_capture=True)
    summary = pr_curve.run(spark, arguments)
    assert capture_files(day) == []
    assert summary["rows_captured"] == 4 and summary["rows_joined"] == 3
    assert pr_curve.run(spark, arguments) == summary


def test_without_the_setting_nothing_is_deleted(two_record_day):
    before, after, _ = two_record_day
    assert before and after == before


def test_nothing_is_deleted_when_the_extract_fails(spark, tmp_path):
    """An extract that cannot be written (here its output is a file, not a folder) deletes no raw capture."""
    day = Day(tmp_path).scored([0.2, 0.8], [0, 1])
    before = capture_files(day)
    day.output.mkdir()
    (day.output / pr_curve.EXTRACT).write_text("not a folder")
    with pytest.raises(Py4JJavaError):
        pr_curve.extract_days(spark, pr_curve.Storage(spark), day.arguments(delete_extracted_capture=True))
    assert capture_files(day) == before


def test_a_file_written_after_the_listing_keeps_its_folder(spark, tmp_path, monkeypatch):
    """A capture file that lands after Spark listed the day was not extracted: its hour folder is left to the
    lifecycle rule, and the other hour folders are deleted."""
    day = Day(tmp_path).scored([0.2, 0.8], [0, 1])
    day.capture(capture_line("e9", "0.3", NOON + timedelta(hours=1), FEATURES), moment=NOON + timedelta(hours=1))
    late = capture_dir(day.captures, NOON) / "late.jsonl"
    delete = pr_curve.delete_extracted_capture

    def after_a_late_file(*arguments):
        late.write_text(capture_line("e8", "0.4", NOON, FEATURES) + "\n")
        return delete(*arguments)

    monkeypatch.setattr(pr_curve, "delete_extracted_capture", after_a_late_file)
    pr_curve.extract_days(spark, pr_curve.Storage(spark), day.arguments(delete_extracted_capture=True))
    assert [path.name for path in capture_files(day)] == ["late.jsonl", "part.jsonl"]
    assert not capture_dir(day.captures, NOON + timedelta(hours=1)).exists()


def test_deleting_extracted_capture_is_asked_for_on_the_command_line():
    argv = ["--captures", "c", "--ground-truth", "g", "--date", "2026-11-20", "--output", "o"]
    assert not pr_curve.parse_arguments(argv).delete_extracted_capture
    assert pr_curve.parse_arguments([*argv, "--delete-extracted-capture"]).delete_extracted_capture


def hour_folders(day, on=DAY):
    return sorted(path.name for path in (day.output / pr_curve.EXTRACT / f"dt={on.isoformat()}").glob("hour=*"))


def test_an_hourly_run_extracts_its_hour_and_the_daily_run_the_hours_still_raw(spark, tmp_path):
    """Issue 30 item 4: the hourly run extracts the last complete hour into its hour folder and deletes its raw
    capture; the daily run extracts the hour an hourly run missed, keeps the hour whose raw capture is gone, and
    scores the day as if it had extracted it whole; its retry gives the same summary."""
    day = Day(tmp_path).scored([0.2, 0.8, 0.6], [0, 1, 1])
    later = NOON + timedelta(hours=1)
    day.capture(capture_line("e9", "0.3", later, FEATURES, inference_id="r9"), moment=later)
    day.label(ground_truth_line("r9", "0"))
    hourly = pr_curve.parse_arguments(
        ["--captures", str(day.captures), "--ground-truth", str(day.ground_truth), "--output", str(day.output)]
        + ["--extract-hour-before", "2026-11-20T13:15:00Z", "--delete-extracted-capture"]
    )
    assert pr_curve.run(spark, hourly) == {"extracted_hour": "2026-11-20T12:00Z"}
    assert hour_folders(day) == ["hour=12"] and not capture_dir(day.captures, NOON).exists()
    assert capture_dir(day.captures, later).exists()  # the hourly run of 13:00 failed: its hour is still raw
    daily = day.arguments(hourly_extract=True, delete_extracted_capture=True)
    summary = pr_curve.run(spark, daily)
    assert hour_folders(day) == ["hour=12", "hour=13"] and capture_files(day) == []
    assert (summary["rows_captured"], summary["rows_joined"], summary["positives"]) == (4, 4, 2)
    assert pr_curve.run(spark, daily) == summary


def test_a_day_kept_per_hour_stays_so_and_a_day_kept_whole_is_left_whole(spark, tmp_path):
    """Hourly extraction turned off after an hourly run: the daily run still extracts the day per hour (a whole-day
    write would replace the hour an hourly run extracted and deleted). A day a daily run kept whole is not touched
    by an hourly run, so no day holds both layouts."""
    day = Day(tmp_path).scored([0.2, 0.8], [0, 1])
    later = NOON + timedelta(hours=1)
    day.capture(capture_line("e9", "0.3", later, FEATURES), moment=later)
    pr_curve.run(spark, day.arguments(extract_hour=later, hourly_extract=True, delete_extracted_capture=True))
    assert hour_folders(day) == ["hour=13"]
    summary = pr_curve.run(spark, day.arguments(delete_extracted_capture=True))
    assert hour_folders(day) == ["hour=12", "hour=13"] and summary["rows_captured"] == 3
    whole = Day(tmp_path / "whole").scored([0.2, 0.8], [0, 1])
    pr_curve.extract_days(spark, pr_curve.Storage(spark), whole.arguments())
    pr_curve.run(spark, whole.arguments(extract_hour=NOON, hourly_extract=True, delete_extracted_capture=True))
    assert hour_folders(whole) == [] and whole.stored(pr_curve.EXTRACT) and capture_files(whole)


@pytest.mark.parametrize(
    ("time", "hour"),
    [
        ("2026-11-21T00:15:00Z", datetime(2026, 11, 20, 23, tzinfo=timezone.utc)),
        ("2026-11-21T05:00:00", NOON.replace(day=21, hour=4)),
    ],
)
def test_the_hourly_run_extracts_the_last_complete_utc_hour_before_its_time(time, hour):
    argv = ["--captures", "c", "--ground-truth", "g", "--output", "o", "--extract-hour-before", time]
    arguments = pr_curve.parse_arguments(argv)
    assert (arguments.extract_hour, arguments.date, arguments.hourly_extract) == (hour, hour.date(), True)
    with pytest.raises(pr_curve.JobInputError, match="--date"):
        pr_curve.parse_arguments(argv[:-2])


@pytest.mark.parametrize("hourly", [True, False], ids=["extracted-per-hour", "extracted-whole"])
def test_a_capture_file_that_lands_after_its_raw_capture_was_deleted_never_replaces_the_extract(
    spark, tmp_path, hourly, capsys
):
    """A Data Capture object can land after the run that extracted its hour deleted the hour's folder (how late is
    not documented). The folder then holds only that object: extracting it again would replace the hour's extract
    (or the whole day's, on a retry) with one file's records. The run leaves it unread, says so, and scores the day
    from the extract it has."""
    day = Day(tmp_path).scored([0.2, 0.8, 0.6], [0, 1, 1])
    arguments = day.arguments(delete_extracted_capture=True, hourly_extract=hourly)
    if hourly:
        pr_curve.run(spark, day.arguments(extract_hour=NOON, hourly_extract=True, delete_extracted_capture=True))
    summary = pr_curve.run(spark, arguments)
    assert capture_files(day) == [] and summary["rows_captured"] == 3
    day.capture(capture_line("e7", "0.9", NOON, FEATURES, inference_id="r7"), name="late")
    assert pr_curve.run(spark, arguments) == summary
    assert [path.name for path in capture_files(day)] == ["late.jsonl"]  # left to the lifecycle rule
    assert "left unread" in capsys.readouterr().err


def _expire_the_extract(day):
    shutil.rmtree(day.output / pr_curve.EXTRACT)


def _expire_one_hour_of_the_extract(day):
    shutil.rmtree(day.output / pr_curve.EXTRACT / f"dt={DAY.isoformat()}" / "hour=12")


def _expire_the_first_label_day(day):
    shutil.rmtree(ground_truth_dir(day.ground_truth, NOON).parent)


@pytest.mark.parametrize(
    "expire",
    [_expire_the_extract, _expire_one_hour_of_the_extract, _expire_the_first_label_day],
    ids=lambda f: f.__name__,
)
def test_a_rerun_after_part_of_its_input_expired_keeps_the_scored_day(spark, tmp_path, expire):
    """The extract is kept days, each of its hours expires on its own and labels after their retention; the results
    are kept months. A run started by hand for an older day then reads fewer rows than its stored results were
    scored from, and would replace them with a day of fewer predictions or labels. It stops with a message that says
    why and leaves every stored output, unless told to replace them."""
    day = Day(tmp_path).scored([0.2, 0.8, 0.6], [0, 1, 1])
    later = NOON + timedelta(hours=1)
    day.capture(capture_line("e9", "0.3", later, FEATURES, inference_id="r9"), moment=later)
    day.label(ground_truth_line("r9", "0"), moment=NOON + timedelta(days=1))
    hourly = dict(hourly_extract=True, delete_extracted_capture=True, label_delay_days=1)
    for hour in (NOON, later):
        pr_curve.run(spark, day.arguments(extract_hour=hour, **hourly))
    arguments = day.arguments(**hourly)
    summary = pr_curve.run(spark, arguments)
    assert (summary["rows_captured"], summary["rows_labeled"]) == (4, 4)
    stored = {name: [p.read_bytes() for p in day.stored(name)] for name in ("summary", "histogram", "curve", "rejects")}
    expire(day)
    with pytest.raises(pr_curve.JobInputError, match="fewer than the 4 and 4 its stored results were scored from"):
        pr_curve.run(spark, arguments)
    assert {name: [p.read_bytes() for p in day.stored(name)] for name in stored} == stored
    replaced = pr_curve.run(spark, dataclasses.replace(arguments, replace_with_fewer_rows=True))
    assert replaced["rows_captured"] + replaced["rows_labeled"] < 8
