"""A thin stack around the construct, for `cdk deploy`."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from ..common.config import KitConfig
from ..common.tags import apply_standard_tags
from .monitor import ModelQualityMonitor


class ModelQualityStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: KitConfig) -> None:
        super().__init__(scope, construct_id,
                         description="Daily model-quality (precision-recall) dashboard (ML and analytics kit)")
        apply_standard_tags(self, config, architecture="model-quality")
        self.monitor = ModelQualityMonitor(self, "Monitor", config=config)
