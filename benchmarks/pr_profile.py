"""Where the precision-recall job spends its time, phase by phase, on the benchmark's data.

    scripts/kit-env python -m benchmarks.pr_profile [ROWS]      (default 1,000,000)

On one generated day (as benchmarks.pr_bench makes it) it runs the floor, then ever longer prefixes of the job:
the parse alone, the parse and the by-id aggregation, all outcomes (these three into Spark's `noop` sink, which
evaluates every column and writes nothing), score_day (outcomes written, counts read back), write_day, and the
whole run. For each it prints the wall time and, from Spark's monitoring REST API
(https://spark.apache.org/docs/3.5.6/monitoring.html#rest-api: /jobs and /stages of the running application),
the executors' CPU time, the tasks run, shuffle bytes written and spill. Executor CPU seconds are much steadier
than wall seconds on a shared machine: compare phases by the difference of their CPU times.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from benchmarks.pr_bench import CORES, DAY, floor
from datagen.data_capture import write_scored_day
from spark_jobs.model_quality import pr_curve

UI_PORT = 4199
ROUNDS = 2


class Meter:
    """Counters of the Spark jobs that one action launches, read from the driver's REST API."""

    def __init__(self, spark: SparkSession):
        self.api = f"http://localhost:{UI_PORT}/api/v1/applications/{spark.sparkContext.applicationId}"

    def _get(self, path: str) -> list:
        with urllib.request.urlopen(self.api + path) as response:
            return json.load(response)

    def measure(self, action) -> dict:
        before = {job["jobId"] for job in self._get("/jobs")}
        started = time.perf_counter()
        action()
        wall = time.perf_counter() - started
        jobs = [job for job in self._get("/jobs") if job["jobId"] not in before]
        stage_ids = {stage for job in jobs for stage in job["stageIds"]}
        stages = [s for s in self._get("/stages") if s["stageId"] in stage_ids and s["status"] == "COMPLETE"]
        return {
            "wall_s": wall,
            "cpu_s": sum(s["executorCpuTime"] for s in stages) / 1e9,
            "jobs": len(jobs),
            "tasks": sum(s["numCompleteTasks"] for s in stages),
            "shuffle_mb": sum(s["shuffleWriteBytes"] for s in stages) / 1e6,
            "spill_mb": sum(s["diskBytesSpilled"] + s["memoryBytesSpilled"] for s in stages) / 1e6,
        }


def noop(frame: DataFrame) -> None:
    frame.write.format("noop").mode("overwrite").save()


def phases(spark: SparkSession, args: pr_curve.JobArguments, work: Path) -> dict:
    storage = pr_curve.Storage(spark)
    capture_folders, label_folders = pr_curve._input_folders(storage, args)

    def parsed():
        return pr_curve._parsed_inputs(spark, capture_folders, label_folders, args.bins)

    counts = {}

    def score_day():
        counts["day"] = pr_curve.score_day(spark, storage, args, str(work / "work"), str(work / "rejects"))

    return {
        "floor": lambda: floor(spark, args.captures, args.ground_truth),
        "parse": lambda: noop(parsed()),
        "parse + by id": lambda: noop(pr_curve._by_id(parsed())),
        "parse + by id + outcomes": lambda: noop(pr_curve._outcomes(pr_curve._by_id(parsed()))),
        "score_day": score_day,
        "write_day": lambda: pr_curve.write_day(spark, storage, args, counts["day"]),
        "run (whole job)": lambda: pr_curve.run(spark, args),
    }


def main(argv: list[str]) -> None:
    rows = int(argv[0]) if argv else 1_000_000
    workspace = Path(tempfile.mkdtemp(prefix="pr-profile-"))
    try:
        captures, ground_truth = workspace / "captures", workspace / "ground-truth"
        print(f"generating {rows:,} captures and labels in {workspace} ...", flush=True)
        write_scored_day(captures, ground_truth, DAY, rows, positive_rate=0.01, seed=11)
        spark = (
            SparkSession.builder.master(f"local[{CORES}]")
            .appName("pr-profile")
            .config("spark.ui.port", str(UI_PORT))
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", "4g")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        args = pr_curve.JobArguments(
            captures=str(captures), ground_truth=str(ground_truth), date=DAY, output=str(workspace / "results")
        )
        meter, steps = Meter(spark), phases(spark, args, workspace)
        for step in steps.values():  # warm-up: JIT and file cache
            step()
        best: dict[str, dict] = {}
        for attempt in range(1, ROUNDS + 1):
            print(f"round {attempt}", flush=True)
            for name, step in steps.items():
                figures = meter.measure(step)
                print(
                    f"  {name:26s} wall {figures['wall_s']:6.2f} s  cpu {figures['cpu_s']:6.2f} s  "
                    f"jobs {figures['jobs']:2d}  tasks {figures['tasks']:3d}  "
                    f"shuffle {figures['shuffle_mb']:6.1f} MB  spill {figures['spill_mb']:.1f} MB",
                    flush=True,
                )
                if name not in best or figures["cpu_s"] < best[name]["cpu_s"]:
                    best[name] = figures
        spark.stop()
        base = best["floor"]["cpu_s"]
        print(f"least CPU per phase over {ROUNDS} rounds, as a multiple of the floor's:")
        for name, figures in best.items():
            print(f"  {name:26s} cpu {figures['cpu_s']:6.2f} s  {figures['cpu_s'] / base:4.2f}x floor")
        print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    main(sys.argv[1:])
