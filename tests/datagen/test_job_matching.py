import csv
from datetime import datetime, timedelta

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from datagen.job_matching import HISTORY_END, generate, pair_features, Job, Seeker


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    first, second = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    counts = generate(first)
    generate(second)
    return first, second, counts


def test_generator_is_deterministic_per_seed_and_large_enough(data, tmp_path):
    first, second, counts = data
    for name in ("job_seekers.csv", "jobs.csv", "interactions.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    generate(tmp_path, seed=8)
    assert (tmp_path / "interactions.csv").read_bytes() != (first / "interactions.csv").read_bytes()
    assert counts["interactions"] >= 100_000
    assert 0.05 < counts["applied"] / counts["interactions"] < 0.5


def test_a_simple_model_trained_on_the_past_ranks_the_holdout_far_better_than_chance(data):
    """Time split as in the warehouse: train before the last 14 days, score the last 14 days."""
    directory, _, _ = data
    seekers = {r["seeker_id"]: r for r in csv.DictReader((directory / "job_seekers.csv").open())}
    jobs = {r["job_id"]: r for r in csv.DictReader((directory / "jobs.csv").open())}
    holdout_start = HISTORY_END - timedelta(days=14)
    train_x, train_y, test_x, test_y = [], [], [], []
    for row in csv.DictReader((directory / "interactions.csv").open()):
        s, j = seekers[row["seeker_id"]], jobs[row["job_id"]]
        features = pair_features(
            Seeker(
                0,
                int(s["years_experience"]),
                int(s["skill_area"]),
                int(s["education_level"]),
                int(s["desired_salary"]),
                int(s["region_id"]),
                s["open_to_remote"] == "true",
            ),
            Job(
                0,
                int(j["required_experience"]),
                int(j["skill_area"]),
                int(j["min_education"]),
                int(j["salary"]),
                int(j["region_id"]),
                j["is_remote"] == "true",
                datetime.min,
            ),
        )
        is_train = datetime.fromisoformat(row["event_time"]) < holdout_start
        (train_x if is_train else test_x).append(list(features.values()))
        (train_y if is_train else test_y).append(row["applied"] == "true")
    model = LogisticRegression(max_iter=1000).fit(train_x, train_y)
    auc = roc_auc_score(test_y, model.predict_proba(test_x)[:, 1])
    assert auc > 0.75, f"holdout AUC {auc:.3f}"
