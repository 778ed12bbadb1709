"""Stubbed clients for the smoke test's paths: real boto3 clients whose every request botocore's Stubber checks
against the service model, a fake clock that never sleeps, and recorded responses."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tools.cost.estimate import PriceTable
from tools.smoke.core import Clock, Run

REGION = "us-east-1"
ACCOUNT = "123456789012"
START = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


class FakeClock(Clock):
    """Time moves only when the code sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        super().__init__(
            monotonic=lambda: self.now, sleep=self._sleep, wall=lambda: START + timedelta(seconds=self.now)
        )

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class StubbedClients:
    """`clients(service)` as the paths call it; `stub(service)` to queue responses. Unused stubs fail the test."""

    def __init__(self) -> None:
        self.session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        self.clients: dict[str, object] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __call__(self, service: str):
        if service not in self.clients:
            self.stub(service)
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        if service not in self.stubbers:
            client = self.session.client(service)
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self.stubbers[service]

    def assert_all_used(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def body(data: bytes | str) -> StreamingBody:
    raw = data.encode() if isinstance(data, str) else data
    return StreamingBody(io.BytesIO(raw), len(raw))


def stack(name: str, outputs: dict[str, str], status: str = "CREATE_COMPLETE") -> dict:
    """A DescribeStacks answer with outputs keyed the way CDK names a construct's CfnOutput (path + hash)."""
    return {
        "Stacks": [
            {
                "StackName": name,
                "StackStatus": status,
                "CreationTime": START,
                "Outputs": [
                    {"OutputKey": f"Construct{key}0A1B2C3D", "OutputValue": value} for key, value in outputs.items()
                ],
            }
        ]
    }


def execution(arn: str, status: str, output: dict | None = None, **extra) -> dict:
    answer = {
        "executionArn": arn,
        "stateMachineArn": arn.rsplit(":", 1)[0],
        "status": status,
        "startDate": START,
        **extra,
    }
    if output is not None:
        answer["output"] = json.dumps(output)
    return answer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clients():
    stubbed = StubbedClients()
    yield stubbed


@pytest.fixture
def prices() -> PriceTable:
    return PriceTable.load()


@pytest.fixture
def make_run(clock):
    return lambda architecture: Run(architecture, clock)
