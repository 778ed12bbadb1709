"""Synthesize one architecture's construct alone, so its tests can be copied with it (no app.py, no tests/conftest.py).

The App carries no feature flags: the constructs set explicitly what a flag would decide, so they synthesize the same
resources in any app (tests/test_copy_architecture.py checks that against this kit's cdk.json).
"""

from __future__ import annotations

from typing import Callable, TypeVar

import aws_cdk as cdk
from aws_cdk.assertions import Template

from stacks.common.acknowledgments import CdkManagedHelpers
from stacks.common.config import PROFILES, ProfileSettings, load_settings

__all__ = ["PROFILES", "construct_template", "new_app"]

S = TypeVar("S", bound=ProfileSettings)


def new_app(**context: object) -> cdk.App:
    """A bare App (as in a project whose cdk.json names only the app) with the kit's helper acknowledgments."""
    app = cdk.App(context=context)
    cdk.Aspects.of(app).add(CdkManagedHelpers())
    return app


def construct_template(
    stack_name: str, kind: type[S], build: Callable[[cdk.Stack, S], object], **context: object
) -> tuple[Template, S]:
    """The template of a stack holding only what `build(stack, settings)` adds, and the settings (of class `kind`,
    loaded from `context`) it was built with."""
    app = new_app(**context)
    settings = load_settings(context, kind)
    stack = cdk.Stack(app, stack_name)
    build(stack, settings)
    return Template.from_stack(stack), settings
