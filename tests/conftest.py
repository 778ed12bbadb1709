"""Session fixtures: each app is synthesized once per profile and shared by every test that reads it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from app import KitSettings, build_app
from stacks.common.acknowledgments import CdkManagedHelpers
from stacks.common.config import CommonSettings, load_settings
from stacks.common.encryption import DataKey
from stacks.common.logs import EncryptedLogGroup
from stacks.common.storage import AccessLogsBucket, SecureBucket
from stacks.common.tags import apply_standard_tags
from tests.background import JOB_ATTRIBUTE, BackgroundLane
from tests.gates import SCAN, SCAN_GROUP, ScanJob
from tools import local_spark
from tools.synthesis import PROFILES, cdk_json_context

CDK_JSON_CONTEXT = cdk_json_context()
# XGBoost's and scikit-learn's OpenMP threads spin while they wait for work by default, which bills CPU for nothing
# (the XGBoost training of tests/spark_jobs/churn: 3.5 to 1.1 CPU-s, same model). Set before any test module loads
# libgomp, which reads it once; it changes no result.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
_lane = pytest.StashKey[BackgroundLane]()


def pytest_configure(config: pytest.Config) -> None:
    # One id for the whole run, which pytest-xdist hands to every worker (workerinput["testrunuid"]): the background
    # lanes of all workers meet in the folder it names.
    if not hasattr(config, "workerinput") and config.getoption("testrunuid", None) is None:
        config.option.testrunuid = uuid.uuid4().hex


def _run_folder(config: pytest.Config) -> Path:
    uid = config.workerinput["testrunuid"] if hasattr(config, "workerinput") else config.option.testrunuid
    return Path(tempfile.gettempdir(), f"kit-tests-{uid}")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups off the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`: -n 2 --dist loadgroup) a module's tests run on one worker, so its module
    fixtures are built once per run. The modules that use local Spark, the longest, go first so that no worker is left
    with one of them at the end while the other idles; each worker starts Spark at most once."""
    uses_spark = {item.nodeid.split("::")[0] for item in items if "spark" in getattr(item, "fixturenames", ())}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in uses_spark)  # stable: otherwise in collected order
    for item in items:
        item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def pytest_collection_finish(session: pytest.Session) -> None:
    lane = BackgroundLane(_run_folder(session.config) / "background")
    lane.start(session.items)
    session.config.stash[_lane] = lane
    # The scanners' job waits in the lane for these folders. Only the worker whose lane claims the scan synthesizes
    # them here, once (the fixtures below share the cache); the other worker's tests wait for the published findings.
    names = set()
    for item in session.items:
        job = getattr(getattr(item, "function", None), JOB_ATTRIBUTE, None)
        if isinstance(job, ScanJob):
            names.add(job.folder_name(**getattr(getattr(item, "callspec", None), "params", {})))
    if names and lane.claim(SCAN_GROUP):
        # Outside a test nothing captures the synth's bundling lines and warnings; a failing synth still raises.
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            folders = {name: SCANNED_FOLDERS[name.split("[")[0]](name) for name in sorted(names)}
            cdk.Token.is_unresolved("")  # a call into the CDK runtime flushes its buffered warnings here
        SCAN.provide(folders)


def pytest_sessionfinish(session: pytest.Session) -> None:
    lane = session.config.stash.get(_lane, None)
    if lane is not None:
        lane.close()
    if not hasattr(session.config, "workerinput"):  # the controller, or a run without xdist: the run has ended
        shutil.rmtree(_run_folder(session.config), ignore_errors=True)
    for folder in _TEMPORARY_FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


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


@cache
def synthesized_kit_app(profile: str) -> SynthesizedApp:
    """The kit's own app, as app.py builds it, synthesized once per profile in a run."""
    app = cdk.App(context={**CDK_JSON_CONTEXT, "profile": profile})
    settings = build_app(app)
    return SynthesizedApp(app=app, assembly=app.synth(), settings=settings)


@pytest.fixture(scope="session", params=PROFILES)
def kit_app(request: pytest.FixtureRequest) -> SynthesizedApp:
    """The kit's own app, as app.py builds it, for each profile."""
    return synthesized_kit_app(request.param)


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
    return synthesized_shared_constructs(request.param)


@cache
def synthesized_shared_constructs(profile: str) -> tuple[SynthesizedShared, SharedConstructs]:
    app = new_app()
    common = load_settings({"profile": profile}, CommonSettings)
    stack = cdk.Stack(app, "SharedConstructsStack")
    apply_standard_tags(stack, common, architecture="shared")
    key = DataKey(stack, "DataKey", common=common, description="Test data key")
    access_logs = AccessLogsBucket(stack, "AccessLogsBucket", common=common)
    bucket = SecureBucket(stack, "DataBucket", common=common, encryption_key=key, access_logs_bucket=access_logs)
    log_group = EncryptedLogGroup(stack, "LogGroup", common=common, encryption_key=key)
    constructs = SharedConstructs(stack, key, access_logs, bucket, log_group)
    return SynthesizedShared(app=app, assembly=app.synth(), common=common), constructs


@cache
def insecure_app() -> cdk.App:
    """A defect fixture: an unencrypted, unversioned, unlogged bucket, which every gate must report."""
    app = new_app()
    s3.Bucket(cdk.Stack(app, "InsecureStack"), "PlainBucket", encryption=s3.BucketEncryption.UNENCRYPTED)
    return app


_TEMPORARY_FOLDERS: list[Path] = []


def broken_template() -> Path:
    """A defect fixture for cfn-lint: a misspelled property (E3002)."""
    folder = Path(tempfile.mkdtemp(prefix="broken-template-"))
    _TEMPORARY_FOLDERS.append(folder)
    template = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}}
    (folder / "Broken.template.json").write_text(json.dumps(template))
    return folder


# What tests/gates.py's session scan may be asked for, by the name tests/test_security_gates.py gives it.
SCANNED_FOLDERS: dict[str, Callable[[str], str | Path]] = {
    "kit_app": lambda name: synthesized_kit_app(name[len("kit_app[") : -1]).assembly.directory,
    "shared_constructs": lambda name: (
        synthesized_shared_constructs(name[len("shared_constructs[") : -1])[0].assembly.directory
    ),
    "insecure_app": lambda name: insecure_app().synth().directory,
    "broken_template": lambda name: broken_template(),
}


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole run (starting Spark costs seconds); created only if a test asks."""
    session = local_spark.session("kit-tests")
    yield session
    session.stop()
