"""A thin stack around the construct, for `cdk deploy`."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ..common.logs import give_cdk_providers_log_groups
from ..common.tags import apply_standard_tags
from .recommender import RedshiftMlRecommender
from .settings import RedshiftMlSettings

# The recommender's default schema, which this stack keeps.
RECOMMENDER_SCHEMA = "jobmatch"


class RedshiftMlStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: RedshiftMlSettings) -> None:
        super().__init__(
            scope, construct_id, description="Redshift ML in-database job recommender (ML and analytics kit)"
        )
        apply_standard_tags(self, settings.common, architecture="redshift-ml")
        self.recommender = RedshiftMlRecommender(self, "Recommender", settings=settings)
        give_cdk_providers_log_groups(self, common=settings.common, encryption_key=self.recommender.key)
        # What `make smoke` reads (tools/smoke): the Data API target and the table the lifecycle fills.
        warehouse = self.recommender.warehouse
        CfnOutput(self, "DatabaseName", value=warehouse.database_name)
        CfnOutput(
            self,
            "AdminSecretArn",
            value=warehouse.admin_secret_arn,
            description="Secrets Manager secret of the warehouse admin (for the Data API)",
        )
        CfnOutput(
            self,
            "RecommendationsTable",
            value=f"{RECOMMENDER_SCHEMA}.recommendations",
            description="Top-K jobs per seeker, rewritten by each promotion",
        )
