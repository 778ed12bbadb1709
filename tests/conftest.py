"""Session fixtures: each app is synthesized once per profile and shared by every test that reads it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import aws_cdk as cdk
import pytest

from app import KitSettings, build_app
from stacks.common.acknowledgments import CdkManagedHelpers
from stacks.common.config import CommonSettings, load_settings
from stacks.common.encryption import DataKey
from stacks.common.logs import EncryptedLogGroup
from stacks.common.storage import AccessLogsBucket, SecureBucket
from stacks.common.tags import apply_standard_tags
from tests.background import BackgroundLane
from tools import local_spark
from tools.synthesis import PROFILES, cdk_json_context

CDK_JSON_CONTEXT = cdk_json_context()
_lane = pytest.StashKey[BackgroundLane]()


def pytest_collection_finish(session: pytest.Session) -> None:
    lane = BackgroundLane()
    lane.start(session.items)
    session.config.stash[_lane] = lane


def pytest_sessionfinish(session: pytest.Session) -> None:
    lane = session.config.stash.get(_lane, None)
    if lane is not None:
        lane.close()


@pytest.fixture
def background_result(request: pytest.FixtureRequest) -> Any:
    """What this test's `@in_background` job returned (tests/background.py), once it has run."""
    return request.config.stash[_lane].result(request.node.nodeid)


def new_app(**context: object) -> cdk.App:
    """An App with cdk.json's feature flags and the kit's helper acknowledgments, as app.py builds it."""
    app = cdk.App(context={**CDK_JSON_CONTEXT, **context})
    cdk.Aspects.of(app).add(CdkManagedHelpers())
    return app


@dataclass
class SynthesizedApp:
    app: cdk.App
    assembly: cdk.cx_api.CloudAssembly
    settings: KitSettings


@pytest.fixture(scope="session", params=PROFILES)
def kit_app(request: pytest.FixtureRequest) -> SynthesizedApp:
    """The kit's own app, as app.py builds it, for each profile."""
    app = cdk.App(context={**CDK_JSON_CONTEXT, "profile": request.param})
    settings = build_app(app)
    return SynthesizedApp(app=app, assembly=app.synth(), settings=settings)


# QuickSight principals in the identity region: the dashboard, its data sets and data-source role are built only
# when an owner is configured (the profiles leave it empty).
QUICKSIGHT_CONTEXT = {
    "kit:quicksight_owner_arn": "arn:aws:quicksight:us-east-1:123456789012:user/default/ml-specialist",
    "kit:quicksight_viewer_group_arn": "arn:aws:quicksight:us-east-1:123456789012:group/default/business-team",
}


@cache
def quicksight_app(profile: str) -> SynthesizedApp:
    """The kit's app with the QuickSight dashboard on, synthesized once per profile for every test that asks."""
    app = cdk.App(context={**CDK_JSON_CONTEXT, "profile": profile, **QUICKSIGHT_CONTEXT})
    settings = build_app(app)
    return SynthesizedApp(app=app, assembly=app.synth(), settings=settings)


@dataclass
class SharedConstructs:
    stack: cdk.Stack
    key: DataKey
    access_logs: AccessLogsBucket
    bucket: SecureBucket
    log_group: EncryptedLogGroup


@dataclass
class SynthesizedShared:
    app: cdk.App
    assembly: cdk.cx_api.CloudAssembly
    common: CommonSettings


@pytest.fixture(scope="session", params=PROFILES)
def shared_constructs(request: pytest.FixtureRequest) -> tuple[SynthesizedShared, SharedConstructs]:
    """A stack holding one of each shared construct, used the way the architectures use them."""
    app = new_app()
    common = load_settings({"profile": request.param}, CommonSettings)
    stack = cdk.Stack(app, "SharedConstructsStack")
    apply_standard_tags(stack, common, architecture="shared")
    key = DataKey(stack, "DataKey", common=common, description="Test data key")
    access_logs = AccessLogsBucket(stack, "AccessLogsBucket", common=common)
    bucket = SecureBucket(stack, "DataBucket", common=common, encryption_key=key, access_logs_bucket=access_logs)
    log_group = EncryptedLogGroup(stack, "LogGroup", common=common, encryption_key=key)
    constructs = SharedConstructs(stack, key, access_logs, bucket, log_group)
    return SynthesizedShared(app=app, assembly=app.synth(), common=common), constructs


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole run (starting Spark costs seconds); created only if a test asks."""
    session = local_spark.session("kit-tests")
    yield session
    session.stop()
