"""The churn construct alone, per profile, writing Data Capture to a bucket and key of another stack (as the kit's
app passes the model-quality monitor's): these tests can be copied with stacks/churn_model."""

from dataclasses import dataclass
from functools import cache

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from stacks.churn_model.churn import ChurnModel
from stacks.churn_model.settings import ChurnModelSettings
from stacks.common.config import load_settings
from tests.construct_app import PROFILES, new_app

ENDPOINT_NAME = "churn-endpoint"
MODEL_PACKAGE_GROUP_NAME = "churn-models"


@dataclass
class CaptureLocation:
    stack: cdk.Stack
    bucket: s3.Bucket
    key: kms.Key


@pytest.fixture(scope="module", params=PROFILES)
def churn_and_capture(request) -> tuple[Template, ChurnModelSettings, CaptureLocation]:
    return churn_with_capture(request.param)


@cache
def churn_with_capture(profile: str) -> tuple[Template, ChurnModelSettings, CaptureLocation]:
    """Synthesized once per profile in a test process and shared by this folder's modules (they only read it)."""
    app = new_app(profile=profile)
    settings = load_settings({"profile": profile}, ChurnModelSettings)
    capture_stack = cdk.Stack(app, "CaptureStack")
    key = kms.Key(capture_stack, "CaptureKey", enable_key_rotation=True)
    capture = CaptureLocation(capture_stack, s3.Bucket(capture_stack, "CaptureBucket", encryption_key=key), key)
    stack = cdk.Stack(app, "ChurnModelStack")
    ChurnModel(
        stack,
        "Churn",
        settings=settings,
        capture_bucket=capture.bucket,
        capture_prefix="data-capture",
        capture_key=capture.key,
        # Explicit names, as an app that wires the endpoint to a monitor passes them (the derived defaults:
        # tests/test_copies.py).
        endpoint_name=ENDPOINT_NAME,
        model_package_group_name=MODEL_PACKAGE_GROUP_NAME,
    )
    return Template.from_stack(stack), settings, capture


@pytest.fixture(scope="module")
def churn(churn_and_capture):
    template, settings, _ = churn_and_capture
    return template, settings
