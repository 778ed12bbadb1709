"""The capture and ground-truth writer produces SageMaker's documented shapes and layout."""

import base64
import json
from datetime import date, datetime, timezone

from datagen.data_capture import capture_line, ground_truth_line, write_scored_day

MOMENT = datetime(2026, 11, 20, 7, 5, 3, tzinfo=timezone.utc)


def test_capture_line_has_the_documented_fields():
    record = json.loads(capture_line("e1", "0.25", MOMENT, "1,2", inference_id="r1"))
    assert record["captureData"]["endpointOutput"] == {
        "observedContentType": "text/csv",
        "mode": "OUTPUT",
        "data": "0.25",
        "encoding": "CSV",
    }
    assert record["captureData"]["endpointInput"]["data"] == "1,2"
    assert record["eventMetadata"] == {"eventId": "e1", "inferenceTime": "2026-11-20T07:05:03Z", "inferenceId": "r1"}
    assert "inferenceId" not in json.loads(capture_line("e1", "0.25", MOMENT, "1,2"))["eventMetadata"]


def test_base64_capture_round_trips():
    record = json.loads(capture_line("e1", '{"score": 0.5}', MOMENT, "1", encoding="BASE64"))
    assert base64.b64decode(record["captureData"]["endpointOutput"]["data"]) == b'{"score": 0.5}'


def test_ground_truth_follows_model_monitor_convention():
    assert json.loads(ground_truth_line("r1", "1")) == {
        "groundTruthData": {"data": "1", "encoding": "CSV"},
        "eventMetadata": {"eventId": "r1"},
        "eventVersion": "0",
    }


def test_scored_day_layout_and_returned_reference(tmp_path):
    day = write_scored_day(
        tmp_path / "c", tmp_path / "g", date(2026, 11, 20), rows=500, positive_rate=0.2, label_delay_days=1
    )
    captures = sorted((tmp_path / "c").rglob("*.jsonl"))
    assert all(
        p.relative_to(tmp_path / "c").parts[:5] == ("churn-endpoint", "AllTraffic", "2026", "11", "20")
        for p in captures
    )
    assert sum(len(p.read_text().splitlines()) for p in captures) == 500
    labels = [json.loads(line) for p in (tmp_path / "g").rglob("*.jsonl") for line in p.read_text().splitlines()]
    assert len(labels) == len(day.labels) == len(day.scores)
    assert {p.parts[-3] for p in (tmp_path / "g").rglob("*.jsonl")} <= {"20", "21"}
    assert 0.1 < sum(day.labels) / len(day.labels) < 0.3
    assert (
        write_scored_day(tmp_path / "c2", tmp_path / "g2", date(2026, 11, 20), rows=500).scores
        == write_scored_day(tmp_path / "c3", tmp_path / "g3", date(2026, 11, 20), rows=500).scores
    )
