"""Deploy-time SQL: schema, tables, feature views, database roles and grants, sample data."""

from __future__ import annotations

import hashlib

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..common.config import CommonSettings
from ..common.encryption import DataKey
from ..common.functions import PROJECT_ROOT, KitFunction, bundled_code
from .data_api_access import grant_data_api
from .sample_data import SampleData
from .warehouse import ServerlessWarehouse


SQL_DIR = "sql/redshift_ml"
HANDLER_DIR = "lambdas/redshift_sql"


def redshift_sql_code() -> lambda_.Code:
    """The Data API handlers with the SQL files bundled beside them."""
    return bundled_code("redshift_sql", sql=SQL_DIR)


def bootstrap_sql_hash() -> str:
    """SHA-256 over the SQL files and the handler code the bootstrap runs. CloudFormation re-runs a custom resource
    only when its properties change (custom resource request types,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes-update.html); as a property, this
    hash makes a change to any of them re-run the bootstrap on the next deploy."""
    digest = hashlib.sha256()
    files = sorted((PROJECT_ROOT / SQL_DIR).glob("*.sql")) + sorted((PROJECT_ROOT / HANDLER_DIR).glob("*.py"))
    for path in files:
        digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class DatabaseBootstrap(Construct):
    """A custom resource that runs the idempotent bootstrap SQL on create and on every update: when its settings, the
    SQL files or the handler code change (`SqlHash`). Sample data goes only into empty tables unless
    `overwrite_sample_data`; `top_k` is what the recommendations keep when an overwrite rewrites them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        common: CommonSettings,
        encryption_key: DataKey,
        warehouse: ServerlessWarehouse,
        schema: str,
        ml_role: str,
        analyst_role: str,
        holdout_days: int,
        top_k: int,
        sample_data: SampleData | None,
        overwrite_sample_data: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = KitFunction(
            self,
            "BootstrapFunction",
            common=common,
            encryption_key=encryption_key,
            code=redshift_sql_code(),
            handler="bootstrap.handler",
            description="Runs the Redshift ML recommender's bootstrap SQL through the Data API",
            timeout=Duration.minutes(14),
            no_dead_letter_queue_reason=(
                "CloudFormation invokes this custom-resource function asynchronously; the handler answers every "
                "request itself (SUCCESS, or FAILED with the error, a minute before its timeout), so failures show "
                "on the stack; an invocation Lambda cannot run at all times the stack operation out, visibly."
            ),
        )
        grant_data_api(self.function, warehouse)
        properties = {
            "WorkgroupName": warehouse.workgroup_name,
            "Database": warehouse.database_name,
            "SecretArn": warehouse.admin_secret_arn,
            "Schema": schema,
            "MlRole": ml_role,
            "AnalystRole": analyst_role,
            "HoldoutDays": holdout_days,
            "TopK": top_k,
            "SqlHash": bootstrap_sql_hash(),
        }
        if sample_data is not None:
            properties["SampleData"] = {**sample_data.properties(), "Overwrite": str(overwrite_sample_data).lower()}
        # The function answers CloudFormation itself (cfn_response.py): no provider framework in between.
        self.resource = CustomResource(
            self,
            "Bootstrap",
            service_token=self.function.function_arn,
            properties=properties,
            resource_type="Custom::RedshiftBootstrap",
        )
