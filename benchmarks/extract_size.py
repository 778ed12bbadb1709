"""Bytes per record of the daily extract, measured: the job's own extract step on a generated day of Data Capture.

    python -m benchmarks.extract_size [ROWS]      (default 5,200,000: over 2 GiB of capture)

The day is written by datagen with random UUID eventIds and no InferenceId (what Data Capture writes for callers
that pass none; random ids are what compresses least), then `pr_curve.extract_day` writes it as the job does.
The result, with the command that produced it, goes to benchmarks/results/extract_size.json, where the cost model
(`make cost`) reads the extract's bytes per record and the generated capture's bytes per record.

The session has the deployed executor's heap per core, and the default day is large enough that each of its cores
extracts a whole production split (pr_curve.EXTRACT_SPLIT_BYTES): the garbage-collection share it records is what
the deployed memory costs the extraction at full split size.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from benchmarks.pr_bench import CORES, HEAP_GB_PER_CORE, bench_session, gc_share
from datagen.data_capture import write_scored_day
from spark_jobs.model_quality import pr_curve

DAY = date(2026, 11, 20)
RESULTS = Path(__file__).resolve().parent / "results" / "extract_size.json"


def main(argv: list[str]) -> None:
    rows = int(argv[0]) if argv else 5_200_000
    workspace = Path(tempfile.mkdtemp(prefix="extract-size-"))
    try:
        captures, ground_truth, output = workspace / "captures", workspace / "ground-truth", workspace / "results"
        print(f"generating {rows:,} captures in {workspace} ...", flush=True)
        write_scored_day(captures, ground_truth, DAY, rows, positive_rate=0.01, seed=11, uuid_ids=True)
        capture_bytes = sum(path.stat().st_size for path in captures.rglob("*.jsonl"))
        spark = bench_session("extract-size")
        # As the run that scores DAY - 1 with a label delay of one day extracts DAY.
        args = pr_curve.JobArguments(
            captures=str(captures),
            ground_truth=str(ground_truth),
            date=DAY - timedelta(days=1),
            output=str(output),
            label_delay_days=1,
        )
        pr_curve.extract_day(spark, pr_curve.Storage(spark), args, DAY)
        folder = output / pr_curve.EXTRACT / f"dt={DAY.isoformat()}"
        files = [path for path in folder.glob("*.parquet")]
        extract_bytes = sum(path.stat().st_size for path in files)
        gc = gc_share(spark)
        counted = spark.read.parquet(str(folder)).count()
        spark.stop()
        if counted != rows:
            raise SystemExit(f"extract-size: the extract holds {counted:,} records, not {rows:,}")
        results = {
            "command": f"scripts/kit-env python -m benchmarks.extract_size {rows}",
            "measured_on": date.today().isoformat(),
            "machine": f"{platform.machine()}, {CORES} cores used",
            "rows": rows,
            "ids": "random UUID eventId, no InferenceId",
            "extract_files": len(files),
            "extract_bytes": extract_bytes,
            "extract_bytes_per_record": round(extract_bytes / rows, 2),
            "capture_bytes_per_record": round(capture_bytes / rows, 1),
            "capture_mb_per_file": round(capture_bytes / len(files) / 1e6, 1),
            "heap_gb_per_core": HEAP_GB_PER_CORE,
            "gc_share": gc,
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        print(
            f"extract-size: rows={rows} extract_bytes_per_record={results['extract_bytes_per_record']} "
            f"capture_bytes_per_record={results['capture_bytes_per_record']} files={len(files)} "
            f"capture_mb_per_file={results['capture_mb_per_file']} heap_gb_per_core={HEAP_GB_PER_CORE:g} gc_share={gc:.3f}"
        )
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    main(sys.argv[1:])
