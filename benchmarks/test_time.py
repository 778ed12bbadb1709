"""Benchmark of `make test`: wall time, CPU time of the whole process tree, the test count and the slowest ten.

    python -m benchmarks.test_time      (make bench-test)

It runs `make test` as a user does and times it. CPU is user + sys of everything the run started: pytest's two
workers, the JVMs of local Spark (which pyspark does not wait for, so this process adopts them as their subreaper),
the jsii runtimes, checkov, cfn-lint, mypy and the app.py synths. On a machine with C cores no schedule can finish in
less than CPU / C seconds (`lower_bound_s`). The target (issue 33) is a wall time of at most 120 s on 2 cores. The
machine may be shared: the load average before and after is recorded with the numbers, in
benchmarks/results/test_time.json, beside the earlier records.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone

from benchmarks.synth_bench import ROOT, adopt_orphans, children_cpu, reap_orphans

RESULTS = ROOT / "benchmarks" / "results" / "test_time.json"
TARGET_S = 120


def summary_counts(output: str) -> dict[str, int]:
    """pytest's last line, e.g. '1613 passed, 6 skipped, 1 warning in 231.66s', as counts by outcome."""
    last = [line for line in output.splitlines() if re.search(r"\b(passed|failed)\b.* in [0-9.]+s", line)][-1]
    return {word: int(count) for count, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", last)}


def slowest(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "slowest" in line and "durations" in line)
    return [re.sub(r"@\S+$", "", line.strip()) for line in lines[start + 1 :] if re.match(r"^[0-9.]+s ", line)]


def main() -> None:
    adopt_orphans()
    load_before = os.getloadavg()[0]
    cpu, wall = children_cpu(), time.perf_counter()
    result = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - wall
    reap_orphans()
    cpu_s = children_cpu() - cpu
    cores = os.cpu_count() or 1
    run = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "machine": f"{platform.machine()}, {cores} cores",
        "exit": result.returncode,
        "tests": summary_counts(result.stdout),
        "wall_s": round(wall_s, 1),
        "cpu_s": round(cpu_s, 1),
        "lower_bound_s": round(cpu_s / cores, 1),
        "target_s": TARGET_S,
        "load_average_1m_before": round(load_before, 2),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "slowest_ten": slowest(result.stdout)[:10],
    }
    history = json.loads(RESULTS.read_text())["runs"] if RESULTS.is_file() else []
    RESULTS.write_text(json.dumps({"what": __doc__.strip().splitlines()[0], "runs": [*history, run]}, indent=1) + "\n")
    print(json.dumps(run, indent=1))
    print(
        f"make test: {run['wall_s']} s wall (target {TARGET_S} s), {run['cpu_s']} CPU-s, at least "
        f"{run['lower_bound_s']} s on {cores} cores; {run['tests']}"
    )
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
