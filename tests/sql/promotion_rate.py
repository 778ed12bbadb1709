"""How fast promotion scores unseen pairs on the local engine the SQL tests use (DuckDB), with the kit's own
02_features.sql, serving_view.sql and recommend.sql transpiled from Redshift SQL.

    scripts/kit-env python -m tests.sql.promotion_rate 5000 1500

The model's inference function is a stand-in (a logistic of a linear score), so this measures the SQL around it, not
Redshift ML's XGBoost inference: a floor on promotion time, not a Redshift rate.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb
import sqlglot

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambdas" / "redshift_sql"))
import templates  # noqa: E402

NAMES = {"schema": "jobmatch", "holdout_days": 14, "ml_role": "ml_developer", "analyst_role": "analyst"}


def _run(db: duckdb.DuckDBPyConnection, name: str, **values: object) -> None:
    """Run a kit SQL file on DuckDB; its GRANTs are left out (DuckDB has no privileges)."""
    for statement in templates.statements(templates.render(templates.load(name), **values)):
        if statement.startswith("GRANT"):
            continue
        db.execute(sqlglot.transpile(statement, read="redshift", write="duckdb")[0])


def measure(seekers: int, jobs: int, interactions: int = 120_000, top_k: int = 10) -> dict[str, float]:
    """Score every unseen pair of a synthetic catalogue and keep the top K per seeker; return the counts and time."""
    db = duckdb.connect()
    db.execute("CREATE SCHEMA jobmatch")
    db.execute(
        "CREATE TABLE jobmatch.job_seekers AS SELECT i AS seeker_id, (i % 20)::SMALLINT AS years_experience, "
        "(i % 12)::SMALLINT AS skill_area, (i % 5)::SMALLINT AS education_level, 30000 + (i % 90) * 1000 AS "
        f"desired_salary, (i % 8)::SMALLINT AS region_id, (i % 3 = 0) AS open_to_remote FROM range({seekers}) t(i)"
    )
    db.execute(
        "CREATE TABLE jobmatch.jobs AS SELECT i AS job_id, (i % 15)::SMALLINT AS required_experience, "
        "(i % 12)::SMALLINT AS skill_area, (i % 5)::SMALLINT AS min_education, 30000 + (i % 95) * 1000 AS salary, "
        "(i % 8)::SMALLINT AS region_id, (i % 4 = 0) AS is_remote, TIMESTAMP '2026-01-01' AS posted_at "
        f"FROM range({jobs}) t(i)"
    )
    db.execute(
        f"CREATE TABLE jobmatch.interactions AS SELECT (i * 7919) % {seekers} AS seeker_id, (i * 104729) % {jobs} "
        "AS job_id, TIMESTAMP '2026-01-01' + INTERVAL (i % 300) DAY AS event_time, (i % 9 = 0) AS applied "
        f"FROM range({interactions}) t(i)"
    )
    db.execute(
        "CREATE TABLE jobmatch.recommendations (seeker_id INT, job_id INT, score DOUBLE, rank SMALLINT, "
        "model_name VARCHAR, generated_at TIMESTAMP)"
    )
    _run(db, "02_features", **NAMES)
    db.execute("CREATE MACRO jobmatch.predict_m(a, b, c, d, e, f, g, h) AS 1 / (1 + exp(-(0.1 * c + d + 0.2 * e + f)))")
    _run(db, "serving_view", function_name="predict_m", model_name="m", **NAMES)
    (pairs,) = db.execute("SELECT COUNT(*) FROM jobmatch.job_match_scores").fetchone() or (0,)
    started = time.perf_counter()
    _run(db, "recommend", schema="jobmatch", top_k=top_k)
    seconds = time.perf_counter() - started
    (kept,) = db.execute("SELECT COUNT(*) FROM jobmatch.recommendations").fetchone() or (0,)
    return {"pairs": pairs, "recommendations": kept, "seconds": seconds, "pairs_per_minute": pairs / seconds * 60}


if __name__ == "__main__":
    result = measure(int(sys.argv[1]), int(sys.argv[2]))
    print(
        f"{result['pairs']:,} unseen pairs scored, {result['recommendations']:,} recommendations kept in "
        f"{result['seconds']:.2f} s: {result['pairs_per_minute']:,.0f} pairs per minute"
    )
