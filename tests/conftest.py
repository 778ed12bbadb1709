"""Session fixtures: each app is synthesized once per profile and shared by every test that reads it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import aws_cdk as cdk
import pytest

from app import KitSettings, build_app
from stacks.common.acknowledgments import CdkManagedHelpers
from stacks.common.config import CommonSettings, load_settings
from stacks.common.encryption import DataKey
from stacks.common.logs import EncryptedLogGroup
from stacks.common.storage import AccessLogsBucket, SecureBucket
from stacks.common.tags import apply_standard_tags
from tools import local_spark
from tools.synthesis import PROFILES, cdk_json_context

CDK_JSON_CONTEXT = cdk_json_context()
PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Checks that read the source tree only, by test name: started in a background process as soon as collection knows
# the run has their test, so a cold mypy (about a minute) uses the second core while the tests synthesize on the
# first; the test then waits for the result. `make test` gets the check without paying its time in sequence.
BACKGROUND_CHECKS: dict[str, list[str]] = {"test_mypy_is_clean": [sys.executable, "-m", "mypy"]}
_started = pytest.StashKey[dict[str, tuple[subprocess.Popen[bytes], Path]]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    names = {item.originalname for item in session.items if isinstance(item, pytest.Function)}
    started = {}
    for name, command in BACKGROUND_CHECKS.items():
        if name in names:
            output = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log")[1])
            with output.open("wb") as sink:
                process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=sink, stderr=subprocess.STDOUT)
            started[name] = (process, output)
    session.config.stash[_started] = started


def pytest_sessionfinish(session: pytest.Session) -> None:
    for process, output in session.config.stash.get(_started, {}).values():
        if process.poll() is None:
            process.kill()
            process.wait()
        output.unlink(missing_ok=True)


@pytest.fixture
def background_check(request: pytest.FixtureRequest):
    """`background_check(timeout)`: the exit code and output of this test's background check, once it ends."""
    process, output = request.config.stash[_started][request.node.originalname]

    def result(timeout: float) -> tuple[int, str]:
        return process.wait(timeout=timeout), output.read_text(errors="replace")

    return result


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
