"""Every presence probe the job makes is declared for its role, so tests/contracts can check that a missing key
reads as missing (404, or an empty listing) and not as 403 AccessDenied under the role's grants (issue 30).

The job is run on a local layout named like the stack's buckets, once on a fresh deployment (no capture or label
written yet, where every probe meets a missing key) and once on a scored day with a rollup. Each path the job
hands to Hadoop's getFileStatus (exists, delete, move, the overwrite check of a write, and the literal folder a
glob lists first, which falls back to getFileStatus when empty) is recorded and must be a declared probe.
"""

import json
import re
from pathlib import Path

from datagen.data_capture import ENDPOINT
from spark_jobs.model_quality import pr_curve
from spark_jobs.model_quality.storage import Storage
from stacks.model_quality.settings import ModelQualitySettings
from stacks.model_quality.storage import results_expiry_days
from tests.spark_jobs.model_quality.test_pr_curve import Day

DECLARATION = Path(__file__).resolve().parents[3] / "stacks" / "model_quality" / "iam_calls.json"
JOB_ROLE = "MonitorPrCurveJobJobRole"
# The local folder standing for each bucket, and the bucket as the declaration names it.
BUCKETS = {
    "CaptureBucket": "${resource:MonitorStorageCaptureBucket}",
    "GroundTruthBucket": "${resource:MonitorStorageGroundTruthBucket}",
    "ResultsBucket": "${resource:MonitorStorageResultsBucket}",
}
GLOB_CHARACTERS = re.compile(r"[*?\[{]")


def normalized(text):
    """Dates as the declaration writes them: any day is 2026-01-01, any hour folder of a day 00."""
    text = re.sub(r"(\d{4}/\d{2}/\d{2})/\d{2}(?=/|$)", r"\1/00", text)
    return re.sub(r"\d{4}/\d{2}/\d{2}", "2026/01/01", re.sub(r"\d{4}-\d{2}-\d{2}", "2026-01-01", text))


def declared_probes():
    entries = json.loads(DECLARATION.read_text())[JOB_ROLE]["calls"]
    return {normalized(entry["probe"]) for entry in entries if entry.get("by") == "hadoop"}


def as_probe(root, path):
    relative = Path(re.sub(r"^file:(//)?", "", str(path))).resolve().relative_to(root.resolve())  # Hadoop's URIs too
    bucket, *key = relative.parts
    suffix = "/" + "/".join(key) if key else ""
    return normalized(f"arn:${{AWS::Partition}}:s3:::{BUCKETS[bucket]}{suffix}")


def listed_first(pattern):
    """The folder a Hadoop glob lists first: the path up to its first component with a wildcard."""
    parts = pattern.split("/")
    first = next(index for index, part in enumerate(parts) if GLOB_CHARACTERS.search(part))
    return "/".join(parts[:first])


def recording(monkeypatch):
    probed = []
    exists, glob, write_text, delete, move = (
        Storage.exists,
        Storage.glob,
        Storage.write_text,
        Storage.delete,
        Storage.move,
    )

    def recorded_exists(self, path):
        probed.append(path)
        return exists(self, path)

    def recorded_delete(self, path):
        probed.append(path)
        return delete(self, path)

    def recorded_move(self, source, target):
        probed.extend((source, target.rsplit("/", 1)[0]))  # rename probes the source and the target's parent
        return move(self, source, target)

    def recorded_glob(self, pattern, folders_only=False):
        probed.append(listed_first(pattern))
        return glob(self, pattern, folders_only)

    def recorded_write_text(self, path, text):
        probed.append(path)
        return write_text(self, path, text)

    monkeypatch.setattr(Storage, "exists", recorded_exists)
    monkeypatch.setattr(Storage, "glob", recorded_glob)
    monkeypatch.setattr(Storage, "write_text", recorded_write_text)
    monkeypatch.setattr(Storage, "delete", recorded_delete)
    monkeypatch.setattr(Storage, "move", recorded_move)
    return probed


def arguments(root, **overrides):
    return pr_curve.JobArguments(
        **{
            "captures": str(root / "CaptureBucket" / "data-capture"),
            "ground_truth": str(root / "GroundTruthBucket"),
            "date": pr_curve.date(2026, 11, 20),
            "output": str(root / "ResultsBucket"),
            "endpoint": ENDPOINT,
            "label_delay_days": 1,
            "rollup_days": 7,
            **overrides,
        }
    )


def test_every_probe_of_the_job_is_declared_for_its_role(spark, tmp_path, monkeypatch):
    probed = recording(monkeypatch)
    fresh = tmp_path / "fresh"
    for bucket in BUCKETS:
        (fresh / bucket).mkdir(parents=True)
    pr_curve.run(spark, arguments(fresh))
    scored = tmp_path / "scored"
    day = Day(scored / "unused")
    day.captures, day.ground_truth = scored / "CaptureBucket" / "data-capture", scored / "GroundTruthBucket"
    day.scored([0.2, 0.9], [0, 1]).capture("not json")  # a reject, so its partition is moved into place
    (scored / "ResultsBucket").mkdir()
    pr_curve.run(spark, arguments(scored))
    recorded = {as_probe(fresh if str(path).startswith(str(fresh)) else scored, path) for path in probed}
    assert recorded, "the job made no probe: the recording hook is broken"
    undeclared = sorted(recorded - declared_probes())
    # The job writes only into folders of the results bucket that expire (stacks/model_quality/storage.py).
    written = {path.name for path in (scored / "ResultsBucket").iterdir()} | {
        path.name for path in (fresh / "ResultsBucket").iterdir()
    }
    assert written and written <= set(results_expiry_days(ModelQualitySettings.for_profile("sandbox")))
    assert not undeclared, f"probes missing from {DECLARATION.name} ({JOB_ROLE}): {undeclared}"


def test_the_hourly_runs_probes_are_declared_too(spark, tmp_path, monkeypatch):
    """Issue 30 item 4: an hourly run, then the daily run that extracts the hours still raw, per hour."""
    probed = recording(monkeypatch)
    day = Day(tmp_path / "unused")
    day.captures, day.ground_truth = tmp_path / "CaptureBucket" / "data-capture", tmp_path / "GroundTruthBucket"
    day.scored([0.2, 0.9], [0, 1])
    (tmp_path / "ResultsBucket").mkdir()
    noon = pr_curve.datetime(2026, 11, 20, 12, tzinfo=pr_curve.timezone.utc)
    hourly = dict(delete_extracted_capture=True, hourly_extract=True)
    pr_curve.run(spark, arguments(tmp_path, extract_hour=noon, **hourly, date=noon.date()))
    pr_curve.run(spark, arguments(tmp_path, **hourly, date=noon.date() - pr_curve.timedelta(days=1)))
    recorded = {as_probe(tmp_path, path) for path in probed}
    assert recorded
    assert not sorted(recorded - declared_probes())
