"""Synthesize the kit's app in-process, as app.py does, for tools that read the templates."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import aws_cdk as cdk

from app import build_app
from stacks.common.config import PROFILES as PROFILES  # the profiles every tool synthesizes

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict:
    """The feature flags and context `cdk synth` reads from cdk.json."""
    return json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]


def synthesize(profile: str, context: dict | None = None) -> cdk.cx_api.CloudAssembly:
    """The app's cloud assembly for `profile` (no nag plugins: the tests and `make synth` run those).

    `context` adds to cdk.json's, as `-c key=value` does (for example `{"kit:schedules_enabled": "true"}`).

    The bundling lines and synth warnings are swallowed: `make synth` shows them, and here they would bury the
    tool's own output."""
    app = cdk.App(context={**cdk_json_context(), **(context or {}), "profile": profile})
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        build_app(app)
        assembly = app.synth()
        templates(assembly)  # a further call into the CDK runtime flushes its buffered warnings here
    return assembly


def templates(assembly: cdk.cx_api.CloudAssembly) -> dict[str, dict]:
    """Stack name -> CloudFormation template."""
    return {stack.stack_name: stack.template for stack in assembly.stacks}
