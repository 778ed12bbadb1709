import csv

import pytest

from datagen.churn import COLUMNS, RATES, generate


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    path = tmp_path_factory.mktemp("churn") / "churn.csv"
    generate(path, rows=20_000, seed=3)
    with path.open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == COLUMNS
        return list(reader)


def test_same_seed_same_bytes(tmp_path):
    generate(tmp_path / "a.csv", rows=500, seed=5)
    generate(tmp_path / "b.csv", rows=500, seed=5)
    generate(tmp_path / "c.csv", rows=500, seed=6)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_values_look_like_the_classic_sample(rows):
    churn_rate = sum(r["Churn?"] == "True." for r in rows) / len(rows)
    assert 0.11 < churn_rate < 0.18
    assert {r["Churn?"] for r in rows} == {"True.", "False."}
    assert {r["Area Code"] for r in rows} == {"408", "415", "510"}
    for row in rows[:500]:
        for period, rate in RATES.items():
            assert float(row[f"{period} Charge"]) == pytest.approx(float(row[f"{period} Mins"]) * rate, abs=0.006)
        assert (row["VMail Plan"] == "no") <= (row["VMail Message"] == "0")


def test_churn_follows_the_known_drivers(rows):
    def rate(selected):
        return sum(r["Churn?"] == "True." for r in selected) / len(selected)

    many_calls = [r for r in rows if int(r["CustServ Calls"]) >= 4]
    few_calls = [r for r in rows if int(r["CustServ Calls"]) < 4]
    assert rate(many_calls) > 2 * rate(few_calls)
    assert rate([r for r in rows if r["Int'l Plan"] == "yes"]) > 2 * rate([r for r in rows if r["Int'l Plan"] == "no"])
