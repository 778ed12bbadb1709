"""The AWS accounts whose ECR registries hold SageMaker's built-in images, per region (generated from the SageMaker
Python SDK's published maps by scripts/generate_image_registries.py; never edited by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnMapping, Stack
from constructs import Construct

REGISTRIES_FILE = Path(__file__).with_name("image_registries.json")


def load_registries() -> dict[str, Any]:
    registries: dict[str, Any] = json.loads(REGISTRIES_FILE.read_text())
    return registries


def registry_account(scope: Construct, image: str) -> str:
    """The account of `image`'s registry ("XGBoost", "SparkProcessing") in the deploying region: a lookup in a
    mapping of that image's accounts, one per stack. A region outside the map fails the deployment at the lookup."""
    stack = Stack.of(scope)
    mapping_id = f"{image}ImageRegistries"
    mapping = stack.node.try_find_child(mapping_id)
    if not isinstance(mapping, CfnMapping):
        registries = load_registries()["registries"]
        mapping = CfnMapping(
            stack,
            mapping_id,
            mapping={region: {"Account": images[image]} for region, images in registries.items()},
        )
    return mapping.find_in_map(Aws.REGION, "Account")
