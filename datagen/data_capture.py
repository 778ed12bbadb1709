"""SageMaker Data Capture and Model Monitor ground-truth files, as an endpoint and a labelling process write them.

Captures go to `{captures}/{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl` and labels to
`{ground_truth}/yyyy/mm/dd/hh/*.jsonl` (hour of collection), one JSON object per line, in the shapes the
SageMaker Developer Guide documents. The record builders are also what a scorer uses to write real captures.

    python -m datagen.data_capture --captures DIR --ground-truth DIR --date 2026-11-20 [--rows 100000]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ENDPOINT = "churn-endpoint"
VARIANT = "AllTraffic"
FEATURES_PER_REQUEST = 20


def capture_line(
    event_id: str,
    score_text: str,
    inference_time: datetime,
    features_csv: str,
    inference_id: str | None = None,
    encoding: str = "CSV",
    content_type: str = "text/csv",
) -> str:
    """One Data Capture line; `score_text` is the endpoint's response body, base64-encoded when encoding says so."""
    output = base64.b64encode(score_text.encode()).decode() if encoding == "BASE64" else score_text
    metadata = {"eventId": event_id, "inferenceTime": inference_time.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    # A template rather than one json.dumps of nested dicts: benchmarks write millions of these.
    return _CAPTURE_TEMPLATE % (
        json.dumps(features_csv),
        json.dumps(content_type),
        json.dumps(output),
        json.dumps(encoding),
        json.dumps(metadata, separators=(",", ":")),
    )


_CAPTURE_TEMPLATE = (
    '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":%s,"encoding":"CSV"},'
    '"endpointOutput":{"observedContentType":%s,"mode":"OUTPUT","data":%s,"encoding":%s}},'
    '"eventMetadata":%s,"eventVersion":"0"}'
)


def ground_truth_line(event_id: str, label_text: str) -> str:
    """One ground-truth line in Model Monitor's convention: the label as CSV text, keyed by the capture's id."""
    return json.dumps(
        {
            "groundTruthData": {"data": label_text, "encoding": "CSV"},
            "eventMetadata": {"eventId": event_id},
            "eventVersion": "0",
        },
        separators=(",", ":"),
    )


def capture_dir(captures: Path, moment: datetime, endpoint: str = ENDPOINT, variant: str = VARIANT) -> Path:
    return captures / endpoint / variant / moment.strftime("%Y/%m/%d/%H")


def ground_truth_dir(ground_truth: Path, moment: datetime) -> Path:
    return ground_truth / moment.strftime("%Y/%m/%d/%H")


@dataclass
class HourlyWriter:
    """Appends lines to one file per hour directory, the way capture files roll over."""

    name: str
    files: dict[Path, object] = field(default_factory=dict)

    def write(self, directory: Path, line: str) -> None:
        handle = self.files.get(directory)
        if handle is None:
            directory.mkdir(parents=True, exist_ok=True)
            handle = self.files[directory] = open(directory / f"{self.name}.jsonl", "a", encoding="utf-8")
        handle.write(line + "\n")

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()
        self.files.clear()


@dataclass(frozen=True)
class ScoredDay:
    """What was written, for checking a job against: the scores and labels of every labelled prediction."""

    scores: list[float]
    labels: list[int]
    input_bytes: int


def write_scored_day(
    captures: Path,
    ground_truth: Path,
    day: date,
    rows: int,
    positive_rate: float = 0.01,
    seed: int = 7,
    label_delay_days: int = 0,
    uuid_ids: bool = False,
    endpoint: str = ENDPOINT,
) -> ScoredDay:
    """Captures for `rows` predictions on `day` (under the `endpoint` folder) and a label for each, collected up to
    `label_delay_days` later.

    Scores carry real signal (positives score higher) and are written with full float precision. With `uuid_ids`
    the records carry no InferenceId and are keyed by a random version-4 UUID eventId, as Data Capture writes
    them for callers that pass none (random ids compress least: the extract's size is measured with them).
    """
    rng = random.Random(seed)
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    capture_writer, label_writer = HourlyWriter(f"capture-{seed}"), HourlyWriter(f"labels-{seed}")
    capture_dirs = [capture_dir(captures, start + timedelta(hours=hour), endpoint) for hour in range(24)]
    label_dirs = [
        ground_truth_dir(ground_truth, start + timedelta(hours=hour)) for hour in range(24 * (label_delay_days + 1))
    ]
    scores, labels = [], []
    features = ",".join(str(rng.randint(0, 400)) for _ in range(FEATURES_PER_REQUEST))
    try:
        for index in range(rows):
            label = 1 if rng.random() < positive_rate else 0
            score = min(max(rng.gauss(0.62 if label else 0.3, 0.15), 0.0), 1.0)
            second = index * 86_400 // rows
            moment = start + timedelta(seconds=second)
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if uuid_ids else f"{seed:04d}-{index:012d}"
            inference_id = None if uuid_ids else f"req-{event_id}"
            capture_writer.write(
                capture_dirs[second // 3600],
                capture_line(event_id, repr(score), moment, features, inference_id=inference_id),
            )
            collected_hour = second // 3600 + 24 * rng.randint(0, label_delay_days) + rng.randint(0, 3)
            if collected_hour < len(label_dirs):
                label_writer.write(label_dirs[collected_hour], ground_truth_line(inference_id or event_id, str(label)))
                scores.append(score)
                labels.append(label)
    finally:
        capture_writer.close()
        label_writer.close()
    input_bytes = sum(p.stat().st_size for root in (captures, ground_truth) for p in root.rglob("*.jsonl"))
    return ScoredDay(scores, labels, input_bytes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=Path, required=True)
    parser.add_argument("--ground-truth", type=Path, required=True)
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--positive-rate", type=float, default=0.01)
    parser.add_argument("--label-delay-days", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    day = write_scored_day(
        args.captures, args.ground_truth, args.date, args.rows, args.positive_rate, args.seed, args.label_delay_days
    )
    print(f"wrote {args.rows} captures and {len(day.labels)} labels ({day.input_bytes / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
