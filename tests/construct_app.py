"""Synthesize one architecture's construct alone, so its tests can be copied with it (no app.py, no tests/conftest.py).

The App carries the feature flags of the project's own cdk.json (this kit's here, yours once copied), as `cdk synth`
would give them.
"""

from __future__ import annotations

import json
from typing import Callable

import aws_cdk as cdk
from aws_cdk.assertions import Template

from stacks.common.acknowledgments import CdkManagedHelpers
from stacks.common.config import PROFILE_DEFAULTS, KitConfig, load_config
from stacks.common.functions import PROJECT_ROOT

PROFILES = tuple(PROFILE_DEFAULTS)
CDK_JSON = PROJECT_ROOT / "cdk.json"
FEATURE_FLAGS = {key: value for key, value in json.loads(CDK_JSON.read_text()).get("context", {}).items()
                 if key.startswith("@")} if CDK_JSON.exists() else {}


def new_app(**context: object) -> cdk.App:
    """An App with the project's feature flags and the kit's helper acknowledgments, as app.py builds it."""
    app = cdk.App(context={**FEATURE_FLAGS, **context})
    cdk.Aspects.of(app).add(CdkManagedHelpers())
    return app


def construct_template(stack_name: str, build: Callable[[cdk.Stack, KitConfig], object],
                       **context: object) -> tuple[Template, KitConfig]:
    """The template of a stack holding only what `build(stack, config)` adds, and the config it was built with."""
    app = new_app(**context)
    config = load_config(context)
    stack = cdk.Stack(app, stack_name)
    build(stack, config)
    return Template.from_stack(stack), config
