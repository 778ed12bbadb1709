"""Glue tables over the job's results with partition projection on dt (no crawler, no repair), and an Athena
workgroup whose encrypted result location is enforced."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from constructs import Construct

from ..common.encryption import DataKey
from ..common.names import physical_name, scoped_id
from .storage import QUERY_RESULTS_PREFIX, QualityStorage

PARQUET = dict(
    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    serde="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
)
JSON_LINES = dict(
    input_format="org.apache.hadoop.mapred.TextInputFormat",
    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    serde="org.openx.data.jsonserde.JsonSerDe",
)
THRESHOLD_STRUCT = (
    "struct<threshold:double,precision:double,recall:double,f1:double,fpr:double,"
    "precision_lower:double,precision_upper:double,recall_lower:double,recall_upper:double>"
)
REJECTED_STRUCT = (
    "struct<capture_malformed_json:bigint,capture_missing_id:bigint,capture_invalid_score:bigint,"
    "ground_truth_malformed_json:bigint,ground_truth_missing_id:bigint,"
    "ground_truth_invalid_label:bigint,capture_duplicate_id:bigint,ground_truth_duplicate_id:bigint,"
    "capture_without_label:bigint,ground_truth_without_prediction:bigint>"
)
# Columns of each result dataset, as the precision-recall job writes them.
TABLES: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {
    "histogram": (
        PARQUET,
        [("bin", "int"), ("lower", "double"), ("upper", "double"), ("positives", "bigint"), ("negatives", "bigint")],
    ),
    "curve": (PARQUET, [("threshold", "double"), ("precision", "double"), ("recall", "double")]),
    "thresholds": (
        PARQUET,
        [
            ("kind", "string"),
            ("threshold", "double"),
            ("precision", "double"),
            ("recall", "double"),
            ("f1", "double"),
            ("fpr", "double"),
            ("precision_lower", "double"),
            ("precision_upper", "double"),
            ("recall_lower", "double"),
            ("recall_upper", "double"),
        ],
    ),
    "summary": (
        JSON_LINES,
        [
            ("date", "string"),
            ("rows_captured", "bigint"),
            ("rows_labeled", "bigint"),
            ("rows_joined", "bigint"),
            ("label_coverage", "double"),
            ("positives", "bigint"),
            ("negatives", "bigint"),
            ("average_precision", "double"),
            ("average_precision_lower", "double"),
            ("average_precision_upper", "double"),
            ("average_precision_ci_lower", "double"),
            ("average_precision_ci_upper", "double"),
            ("roc_auc", "double"),
            ("best_f1_threshold", "double"),
            ("thresholds", f"array<{THRESHOLD_STRUCT}>"),
            ("target_half_width", "double"),
            ("capture_percent_for_target", "int"),
            ("rejected", REJECTED_STRUCT),
        ],
    ),
}
PROJECTION_START = "2024-01-01"


def projection_parameters(location: str) -> dict[str, str]:
    """Athena partition projection: dt is every day from PROJECTION_START to today, found by template."""
    return {
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": f"{PROJECTION_START},NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": f"{location}dt=${{dt}}/",
    }


class ResultsCatalog(Construct):
    """The results as Athena tables `<database>.histogram|curve|thresholds|summary`, and the workgroup to query them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: DataKey,
        storage: QualityStorage,
        database_name: str | None = None,
        existing_database: bool = False,
        database_removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        """`existing_database`: create the tables in a database of that name that exists (one a destroy kept)
        instead of creating it. `database_removal_policy`: RETAIN keeps the database on destroy, with any table users
        added to it (deleting a Glue database deletes its tables:
        https://docs.aws.amazon.com/glue/latest/webapi/API_DeleteDatabase.html); the kit's own tables are
        definitions over the results bucket and go with the stack."""
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        # Athena reads database names of lowercase letters, digits and underscores
        # (https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html).
        database_name = database_name or physical_name(self, "Database", max_length=64, lowercase=True, separator="_")
        self.database_name = database_name
        self.database: glue.CfnDatabase | None = None
        if not existing_database:
            self.database = glue.CfnDatabase(
                self,
                "Database",
                catalog_id=account,
                database_input=glue.CfnDatabase.DatabaseInputProperty(
                    name=database_name, description="Daily precision-recall results of the model-quality job"
                ),
            )
            self.database.apply_removal_policy(database_removal_policy)
        self.tables: dict[str, glue.CfnTable] = {}
        for name, (storage_format, columns) in TABLES.items():
            location = storage.results_bucket.s3_url_for_object(f"{name}/")
            table = glue.CfnTable(
                self,
                scoped_id(f"{name.capitalize()}Table", database_name),
                catalog_id=account,
                database_name=database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=name,
                    table_type="EXTERNAL_TABLE",
                    parameters={
                        "classification": "parquet" if storage_format is PARQUET else "json",
                        **projection_parameters(location),
                    },
                    partition_keys=[glue.CfnTable.ColumnProperty(name="dt", type="string")],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        location=location,
                        input_format=storage_format["input_format"],
                        output_format=storage_format["output_format"],
                        serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=storage_format["serde"]),
                        columns=[glue.CfnTable.ColumnProperty(name=c, type=t) for c, t in columns],
                    ),
                ),
            )
            if self.database is not None:
                table.add_resource_dependency(self.database)
            self.tables[name] = table
        self.query_results_prefix = f"{QUERY_RESULTS_PREFIX}/"
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            # Letters, digits, periods, underscores and hyphens, at most 128 (AWS::Athena::WorkGroup Name).
            name=physical_name(self, "WorkGroup", max_length=128),
            description="Queries over the model-quality results (the dashboard's data source)",
            # Always: DeleteWorkGroup refuses a workgroup that holds query executions, named queries or notebooks
            # unless recursive (https://docs.aws.amazon.com/athena/latest/APIReference/API_DeleteWorkGroup.html),
            # so without it a destroy fails once the dashboard has run a query. What it deletes is query history
            # and saved queries, not data: query results stay in the results bucket (retained in production).
            # Retaining the workgroup instead would make the next deploy fail on its name.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=10 * 1024**3,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=storage.results_bucket.s3_url_for_object(self.query_results_prefix),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=encryption_key.key_arn
                    ),
                ),
            ),
        )

    @property
    def workgroup_name(self) -> str:
        return self.workgroup.name
