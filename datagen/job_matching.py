"""Deterministic synthetic job-matching data with real signal, for the Redshift ML recommender.

Job seekers, jobs and (seeker, job, time, applied) interactions. Whether a seeker applies depends on
the same pair features the warehouse's feature view computes (skill match, salary fit, region or
remote fit, experience and education gaps), plus noise, so a model trained on the first months
ranks the last weeks far better than chance. Pure Python: the CDK app runs it at synth time.

    python -m datagen.job_matching --output DIR [--interactions 120000] [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from dataclasses import dataclass
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SKILL_AREAS = 12
REGIONS = 10
EDUCATION_LEVELS = 4
HISTORY_END = datetime(2026, 10, 31)
HISTORY_DAYS = 180

SEEKER_COLUMNS = (
    "seeker_id",
    "years_experience",
    "skill_area",
    "education_level",
    "desired_salary",
    "region_id",
    "open_to_remote",
)
JOB_COLUMNS = (
    "job_id",
    "required_experience",
    "skill_area",
    "min_education",
    "salary",
    "region_id",
    "is_remote",
    "posted_at",
)
INTERACTION_COLUMNS = ("seeker_id", "job_id", "event_time", "applied")


@dataclass(frozen=True)
class Seeker:
    seeker_id: int
    years_experience: int
    skill_area: int
    education_level: int
    desired_salary: int
    region_id: int
    open_to_remote: bool


@dataclass(frozen=True)
class Job:
    job_id: int
    required_experience: int
    skill_area: int
    min_education: int
    salary: int
    region_id: int
    is_remote: bool
    posted_at: datetime


def pair_features(seeker: Seeker, job: Job) -> dict[str, float]:
    """The features of ml.pair_features (sql/redshift_ml/02_features.sql), computed the same way."""
    return {
        "years_experience": seeker.years_experience,
        "required_experience": job.required_experience,
        "experience_gap": seeker.years_experience - job.required_experience,
        "skill_match": int(seeker.skill_area == job.skill_area),
        "education_gap": seeker.education_level - job.min_education,
        "salary_ratio": round(job.salary / seeker.desired_salary, 4),
        "same_region": int(seeker.region_id == job.region_id),
        "remote_fit": int(job.is_remote and seeker.open_to_remote),
    }


def apply_probability(features: dict[str, float]) -> float:
    """The hidden truth the model should learn: a logistic function of the pair features."""
    location_fit = max(features["same_region"], features["remote_fit"])
    logit = (
        -2.6
        + 2.2 * features["skill_match"]
        + 1.6 * min(features["salary_ratio"] - 0.9, 0.4)
        + 1.0 * location_fit
        - 0.25 * max(0, -features["experience_gap"])
        - 0.6 * max(0, -features["education_gap"])
    )
    return 1.0 / (1.0 + math.exp(-logit))


def make_seekers(rng: random.Random, count: int) -> list[Seeker]:
    seekers = []
    for seeker_id in range(1, count + 1):
        years = min(int(rng.expovariate(1 / 7)), 35)
        seekers.append(
            Seeker(
                seeker_id=seeker_id,
                years_experience=years,
                skill_area=rng.randint(1, SKILL_AREAS),
                education_level=rng.randint(1, EDUCATION_LEVELS),
                desired_salary=int(round(rng.gauss(45_000 + 3_500 * years, 8_000), -3)) or 30_000,
                region_id=rng.randint(1, REGIONS),
                open_to_remote=rng.random() < 0.4,
            )
        )
    return seekers


def make_jobs(rng: random.Random, count: int) -> list[Job]:
    jobs = []
    for job_id in range(1, count + 1):
        required = min(int(rng.expovariate(1 / 5)), 20)
        jobs.append(
            Job(
                job_id=job_id,
                required_experience=required,
                skill_area=rng.randint(1, SKILL_AREAS),
                min_education=rng.randint(1, EDUCATION_LEVELS),
                salary=max(int(round(rng.gauss(50_000 + 4_000 * required, 12_000), -3)), 25_000),
                region_id=rng.randint(1, REGIONS),
                is_remote=rng.random() < 0.25,
                posted_at=HISTORY_END - timedelta(days=HISTORY_DAYS + rng.uniform(0, 30)),
            )
        )
    return jobs


def generate(
    output: Path, *, interactions: int = 120_000, seekers: int = 5_000, jobs: int = 1_500, seed: int = 7
) -> dict[str, int]:
    """Write job_seekers.csv, jobs.csv and interactions.csv (with headers) into `output`; return row counts."""
    rng = random.Random(seed)
    seeker_list = make_seekers(rng, seekers)
    all_jobs = make_jobs(rng, jobs)
    jobs_by_skill: dict[int, list[Job]] = {}
    for job in all_jobs:
        jobs_by_skill.setdefault(job.skill_area, []).append(job)

    output.mkdir(parents=True, exist_ok=True)
    _write(output / "job_seekers.csv", SEEKER_COLUMNS, ([getattr(s, c) for c in SEEKER_COLUMNS] for s in seeker_list))
    _write(
        output / "jobs.csv",
        JOB_COLUMNS,
        ([_csv_value(getattr(j, c)) for c in JOB_COLUMNS] for j in all_jobs),
    )
    applied_count = 0
    rows = []
    for _ in range(interactions):
        seeker = rng.choice(seeker_list)
        # Seekers mostly browse jobs in their own skill area, as a search engine would show them.
        pool = jobs_by_skill.get(seeker.skill_area) if rng.random() < 0.5 else None
        job = rng.choice(pool or all_jobs)
        event_time = HISTORY_END - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86_400))
        applied = rng.random() < apply_probability(pair_features(seeker, job))
        applied_count += applied
        rows.append((event_time, seeker.seeker_id, job.job_id, applied))
    rows.sort()
    _write(
        output / "interactions.csv",
        INTERACTION_COLUMNS,
        (
            [seeker_id, job_id, _csv_value(event_time), _csv_value(applied)]
            for event_time, seeker_id, job_id, applied in rows
        ),
    )
    return {"job_seekers": len(seeker_list), "jobs": len(all_jobs), "interactions": len(rows), "applied": applied_count}


def _csv_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write(path: Path, header: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--interactions", type=int, default=120_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(generate(args.output, interactions=args.interactions, seed=args.seed))


if __name__ == "__main__":
    main()
