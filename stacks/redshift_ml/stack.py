"""A thin stack around the construct, for `cdk deploy`."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from ..common.config import KitConfig
from ..common.tags import apply_standard_tags
from .recommender import RedshiftMlRecommender


class RedshiftMlStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: KitConfig) -> None:
        super().__init__(scope, construct_id, description="Redshift ML in-database job recommender (ML and analytics kit)")
        apply_standard_tags(self, config, architecture="redshift-ml")
        self.recommender = RedshiftMlRecommender(self, "Recommender", config=config)
