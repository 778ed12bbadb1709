"""Templates for the runtime contracts: the kit's app per profile (`kit_app`), the production app with
QuickSight on, and the small fixture templates that show each check catching its defect class."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from tools.contracts.resolve import Resolver
from tests.conftest import quicksight_app
from tools.synthesis import templates

FIXTURES = Path(__file__).parent / "fixtures"


def resolver_of(assembly: cdk.cx_api.CloudAssembly) -> Resolver:
    return Resolver(templates(assembly), file_asset_keys(assembly))


def file_asset_keys(assembly: cdk.cx_api.CloudAssembly) -> dict[str, dict[str, str]]:
    """Per stack, each file asset's object key by its display name, from the stack's asset manifest."""
    keys: dict[str, dict[str, str]] = {}
    for stack in assembly.stacks:
        manifest = Path(assembly.directory) / f"{stack.id}.assets.json"
        for asset in json.loads(manifest.read_text())["files"].values():
            destinations = {d["objectKey"] for d in asset["destinations"].values()}
            if "displayName" in asset and len(destinations) == 1:
                keys.setdefault(stack.stack_name, {})[asset["displayName"]] = destinations.pop()
    return keys


def fixture(name: str) -> Resolver:
    return Resolver(json.loads((FIXTURES / f"{name}.json").read_text()))


@pytest.fixture(scope="session")
def kit_resolver(kit_app) -> Resolver:
    """The kit's templates, once per profile."""
    return resolver_of(kit_app.assembly)


@pytest.fixture(scope="session")
def quicksight_resolver() -> Resolver:
    """The production app with the QuickSight dashboard (its data-source role and data sets) switched on."""
    return resolver_of(quicksight_app("production").assembly)
