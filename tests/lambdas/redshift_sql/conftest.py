"""The handlers import their siblings as top-level modules, as the Lambda runtime loads them."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lambdas" / "redshift_sql"))


class FakeRunner:
    """Records statements; answers queries from a list of (substring, rows) rules."""

    def __init__(self, answers=(), status=None):
        self.answers = list(answers)
        self.status_error = status
        self.ran = []
        self.batches = []

    def run(self, sql, parameters=None):
        self.ran.append((sql, parameters))
        return {"Status": "FINISHED"}

    def run_batch(self, statements):
        self.batches.append(statements)
        return {"Status": "FINISHED"}

    def submit_batch(self, statements):
        self.batches.append(statements)
        return "batch-1"

    def status(self, statement_id):
        if self.status_error:
            raise self.status_error
        return {"Status": "FINISHED"}

    def submit(self, sql, parameters=None):
        self.ran.append((sql, parameters))
        return "statement-1"

    def query(self, sql, parameters=None):
        self.ran.append((sql, parameters))
        for needle, rows in self.answers:
            if needle in sql:
                return rows
        return []


@pytest.fixture()
def fake_runner():
    return FakeRunner
