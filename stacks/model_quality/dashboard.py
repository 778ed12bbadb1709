"""QuickSight over the results through Athena: a data source with its own role, direct-query datasets, and the
dashboard, defined here as code.

The ML specialist (owner) gets the owner action set; the business-team group can only view. QuickSight has no
L2 constructs, and the account subscription, users and groups are not CloudFormation resources, so this
construct is only added when `quicksight_owner_arn` is set.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_quicksight as quicksight
from constructs import Construct

from ..common.acknowledgments import acknowledge, acknowledge_bucket_objects, skip_cfn_lint
from ..common.encryption import DataKey
from ..common.names import physical_name
from .query_layer import ResultsCatalog
from .settings import ModelQualitySettings
from .storage import QualityStorage

VIEWER_ACTIONS = ("quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard")
DASHBOARD_OWNER_ACTIONS = VIEWER_ACTIONS + (
    "quicksight:UpdateDashboardPermissions",
    "quicksight:UpdateDashboard",
    "quicksight:DeleteDashboard",
    "quicksight:DescribeDashboardPermissions",
    "quicksight:UpdateDashboardPublishedVersion",
)
DATA_SOURCE_OWNER_ACTIONS = (
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:DeleteDataSource",
    "quicksight:UpdateDataSourcePermissions",
)
DATA_SET_OWNER_ACTIONS = (
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet",
    "quicksight:CreateIngestion",
    "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions",
)


# Athena projects every dt partition a query does not bound (PROJECTION_START to today, more each day): each
# table reference carries a dt lower bound relative to current_date, which Athena resolves before it projects
# partitions (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html).
DAYS_SHOWN = 90  # average precision over time
LATEST_WITHIN_DAYS = 31  # the latest scored day is looked for this far back; older results show no curve
COMPARED_DAYS_EARLIER = 7
# QuickSight line charts with a Color field show up to 200 data points on the X axis and 25 colours
# (https://docs.aws.amazon.com/quicksight/latest/user/line-chart.html). The job's curve has up to 1,000 points a
# day and two days share the chart, so recall is put on a grid of 0.01 (101 values shared by all series), keeping
# the highest precision at each grid value.
RECALL_DECIMALS = 2
LINE_CHART_MAX_X_WITH_COLOR = 200
LINE_CHART_MAX_COLORS = 25


def _since(days: int) -> str:
    return f"date_format(date_add('day', -{days}, current_date), '%Y-%m-%d')"


def dataset_queries(database: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Athena SQL of each dataset and its columns (QuickSight types)."""
    latest = f"(SELECT max(dt) AS dt FROM {database}.summary WHERE dt >= {_since(LATEST_WITHIN_DAYS)})"
    return {
        "curves": (
            f"""
WITH latest AS {latest},
grid AS (
  SELECT c.dt, round(c.recall, {RECALL_DECIMALS}) AS recall, max(c.precision) AS precision FROM {database}.curve c
  WHERE c.dt >= {_since(LATEST_WITHIN_DAYS + COMPARED_DAYS_EARLIER)}
  GROUP BY c.dt, round(c.recall, {RECALL_DECIMALS}))
SELECT g.recall, g.precision, 'latest day' AS series FROM grid g JOIN latest ON g.dt = latest.dt
UNION ALL
SELECT g.recall, g.precision, '{COMPARED_DAYS_EARLIER} days earlier' AS series FROM grid g JOIN latest
  ON g.dt = date_format(date_add('day', -{COMPARED_DAYS_EARLIER}, date(latest.dt)), '%Y-%m-%d')
UNION ALL
SELECT r.recall, CAST(s.positives AS double) / nullif(s.positives + s.negatives, 0) AS precision,
  'no skill' AS series FROM {database}.summary s JOIN latest ON s.dt = latest.dt
  CROSS JOIN (VALUES 0.0, 1.0) AS r(recall)
WHERE s.dt >= {_since(LATEST_WITHIN_DAYS)}""".strip(),
            [("recall", "DECIMAL"), ("precision", "DECIMAL"), ("series", "STRING")],
        ),
        "daily": (
            f"""
SELECT date(dt) AS day, average_precision, average_precision_ci_lower, average_precision_ci_upper, roc_auc,
  rows_captured, rows_joined, label_coverage,
  CAST(positives AS double) / nullif(positives + negatives, 0) AS positive_rate, capture_percent_for_target
FROM {database}.summary
WHERE dt >= {_since(DAYS_SHOWN)}""".strip(),
            [
                ("day", "DATETIME"),
                ("average_precision", "DECIMAL"),
                ("average_precision_ci_lower", "DECIMAL"),
                ("average_precision_ci_upper", "DECIMAL"),
                ("roc_auc", "DECIMAL"),
                ("rows_captured", "INTEGER"),
                ("rows_joined", "INTEGER"),
                ("label_coverage", "DECIMAL"),
                ("positive_rate", "DECIMAL"),
                ("capture_percent_for_target", "INTEGER"),
            ],
        ),
        "thresholds": (
            f"""
SELECT t.kind, t.threshold, t.precision, t.precision_lower, t.precision_upper, t.recall, t.recall_lower,
  t.recall_upper, t.f1, t.fpr
FROM {database}.thresholds t JOIN {latest} latest ON t.dt = latest.dt
WHERE t.dt >= {_since(LATEST_WITHIN_DAYS)}""".strip(),
            [
                ("kind", "STRING"),
                ("threshold", "DECIMAL"),
                ("precision", "DECIMAL"),
                ("precision_lower", "DECIMAL"),
                ("precision_upper", "DECIMAL"),
                ("recall", "DECIMAL"),
                ("recall_lower", "DECIMAL"),
                ("recall_upper", "DECIMAL"),
                ("f1", "DECIMAL"),
                ("fpr", "DECIMAL"),
            ],
        ),
    }


def _column(dataset: str, name: str) -> dict[str, Any]:
    return {"DataSetIdentifier": dataset, "ColumnName": name}


def _measure(dataset: str, name: str, aggregation: str = "MAX") -> dict[str, Any]:
    return {
        "NumericalMeasureField": {
            "FieldId": f"{dataset}.{name}.{aggregation.lower()}",
            "Column": _column(dataset, name),
            "AggregationFunction": {"SimpleNumericalAggregation": aggregation},
        }
    }


def _numeric_dimension(dataset: str, name: str) -> dict[str, Any]:
    return {"NumericalDimensionField": {"FieldId": f"{dataset}.{name}", "Column": _column(dataset, name)}}


def _category(dataset: str, name: str) -> dict[str, Any]:
    return {"CategoricalDimensionField": {"FieldId": f"{dataset}.{name}", "Column": _column(dataset, name)}}


def _day(dataset: str) -> dict[str, Any]:
    return {
        "DateDimensionField": {"FieldId": f"{dataset}.day", "Column": _column(dataset, "day"), "DateGranularity": "DAY"}
    }


def _title(text: str) -> dict[str, Any]:
    return {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}}


def _kpi(visual_id: str, title: str, column: str) -> dict[str, Any]:
    return {
        "KPIVisual": {
            "VisualId": visual_id,
            "Title": _title(title),
            "ChartConfiguration": {
                "FieldWells": {"Values": [_measure("daily", column, "MAX")], "TrendGroups": [_day("daily")]}
            },
        }
    }


def dashboard_definition(dataset_arns: dict[str, str]) -> dict[str, Any]:
    """The dashboard: PR curve (latest vs 7 days earlier, no-skill line), AP over time with its 95% interval, the
    threshold table with precision's and recall's intervals, and tiles for rows, label coverage, positive rate
    and the capture percent that would keep the intervals within the target half-width."""
    visuals = [
        {
            "LineChartVisual": {
                "VisualId": "pr-curve",
                "Title": _title("Precision-recall: latest day vs 7 days earlier"),
                "ChartConfiguration": {
                    "FieldWells": {
                        "LineChartAggregatedFieldWells": {
                            "Category": [_numeric_dimension("curves", "recall")],
                            "Values": [_measure("curves", "precision")],
                            "Colors": [_category("curves", "series")],
                        }
                    }
                },
            }
        },
        {
            "LineChartVisual": {
                "VisualId": "average-precision",
                "Title": _title("Average precision with its 95% confidence interval"),
                "ChartConfiguration": {
                    "FieldWells": {
                        "LineChartAggregatedFieldWells": {
                            "Category": [_day("daily")],
                            "Values": [
                                _measure("daily", "average_precision"),
                                _measure("daily", "average_precision_ci_lower"),
                                _measure("daily", "average_precision_ci_upper"),
                            ],
                        }
                    }
                },
            }
        },
        {
            "TableVisual": {
                "VisualId": "thresholds",
                "Title": _title("Thresholds of the latest day"),
                "ChartConfiguration": {
                    "FieldWells": {
                        "TableAggregatedFieldWells": {
                            "GroupBy": [_category("thresholds", "kind"), _numeric_dimension("thresholds", "threshold")],
                            "Values": [
                                _measure("thresholds", name)
                                for name in (
                                    "precision",
                                    "precision_lower",
                                    "precision_upper",
                                    "recall",
                                    "recall_lower",
                                    "recall_upper",
                                    "f1",
                                    "fpr",
                                )
                            ],
                        }
                    }
                },
            }
        },
        _kpi("rows", "Rows joined", "rows_joined"),
        _kpi("coverage", "Label coverage", "label_coverage"),
        _kpi("positive-rate", "Positive rate", "positive_rate"),
        _kpi(
            "capture-percent", "Capture % that keeps the 95% intervals within the target", "capture_percent_for_target"
        ),
    ]
    return {
        "DataSetIdentifierDeclarations": [
            {"Identifier": name, "DataSetArn": arn} for name, arn in dataset_arns.items()
        ],
        "Sheets": [{"SheetId": "model-quality", "Name": "Model quality", "Visuals": visuals}],
    }


DATA_SOURCE_TYPE = "ATHENA"


class QualityDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ModelQualitySettings,
        encryption_key: DataKey,
        storage: QualityStorage,
        catalog: ResultsCatalog,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        def quicksight_id(construct_id: str, *create_only: str) -> str:
            """Ids of word characters and hyphens (AWS::QuickSight::Dashboard DashboardId: at most 512), kept at 128."""
            return physical_name(self, construct_id, max_length=128, lowercase=True, create_only=create_only)

        self.role = iam.Role(
            self,
            "DataSourceRole",
            assumed_by=iam.ServicePrincipal("quicksight.amazonaws.com"),
            description="QuickSight's access to the model-quality results through Athena",
        )
        # The query and catalog reads of the managed policy AWSQuicksightAthenaAccess, scoped to this workgroup,
        # the default catalog and this database; its bucket statements are the grants on the results bucket below
        # (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSQuicksightAthenaAccess.html).
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:GetQueryResultsStream",
                    "athena:StopQueryExecution",
                    "athena:BatchGetQueryExecution",
                    "athena:ListQueryExecutions",
                    "athena:GetWorkGroup",
                ],
                resources=[
                    stack.format_arn(service="athena", resource="workgroup", resource_name=catalog.workgroup_name)
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "athena:GetDataCatalog",
                    "athena:GetDatabase",
                    "athena:ListDatabases",
                    "athena:GetTableMetadata",
                    "athena:ListTableMetadata",
                ],
                resources=[stack.format_arn(service="athena", resource="datacatalog", resource_name="AwsDataCatalog")],
            )
        )
        # No resource types: listing workgroups and catalogs, and Lake Formation's data access (used only where
        # Lake Formation governs the catalog).
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["athena:ListWorkGroups", "athena:ListDataCatalogs", "lakeformation:GetDataAccess"],
                resources=["*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                ],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(service="glue", resource="database", resource_name=catalog.database_name),
                    stack.format_arn(service="glue", resource="table", resource_name=f"{catalog.database_name}/*"),
                ],
            )
        )
        storage.results_bucket.grant_read(self.role)
        storage.results_bucket.grant_put(self.role, f"{catalog.query_results_prefix}*")
        encryption_key.grant_encrypt_decrypt(self.role)
        reason = (
            "Reads the result tables (all objects of the results bucket and the tables of its own "
            "database) and writes Athena query results under their prefix; listing workgroups and catalogs "
            "and Lake Formation's GetDataAccess have no resource type."
        )
        acknowledge(
            self.role,
            reason,
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/{catalog.database_name}/*]",
        )
        for pattern in ("*", f"{catalog.query_results_prefix}*"):
            acknowledge_bucket_objects(self.role, reason, storage.results_bucket, pattern)
        owner = settings.quicksight_owner_arn

        def permissions(actions: tuple[str, ...]) -> list[quicksight.CfnDataSource.ResourcePermissionProperty]:
            return [quicksight.CfnDataSource.ResourcePermissionProperty(principal=owner, actions=list(actions))]

        self.data_source = quicksight.CfnDataSource(
            self,
            "DataSource",
            aws_account_id=stack.account,
            # Type is create-only: it goes into the id, so a change renames the data source instead of failing.
            data_source_id=quicksight_id("DataSource", DATA_SOURCE_TYPE),
            name="Model quality results",
            type=DATA_SOURCE_TYPE,
            data_source_parameters=quicksight.CfnDataSource.DataSourceParametersProperty(
                athena_parameters=quicksight.CfnDataSource.AthenaParametersProperty(
                    work_group=catalog.workgroup_name, role_arn=self.role.role_arn
                )
            ),
            ssl_properties=quicksight.CfnDataSource.SslPropertiesProperty(disable_ssl=False),
            permissions=permissions(DATA_SOURCE_OWNER_ACTIONS),
        )
        # QuickSight validates the data source when it is created: the role's policy must exist by then.
        self.data_source.add_resource_dependency(catalog.workgroup)
        self.data_source.node.add_dependency(self.role)
        self.data_sets: dict[str, quicksight.CfnDataSet] = {}
        for name, (sql, columns) in dataset_queries(catalog.database_name).items():
            data_set = quicksight.CfnDataSet(
                self,
                f"{name.capitalize()}DataSet",
                aws_account_id=stack.account,
                data_set_id=quicksight_id(f"{name.capitalize()}DataSet"),
                name=f"Model quality {name}",
                import_mode="DIRECT_QUERY",
                physical_table_map={
                    name: quicksight.CfnDataSet.PhysicalTableProperty(
                        custom_sql=quicksight.CfnDataSet.CustomSqlProperty(
                            data_source_arn=self.data_source.attr_arn,
                            name=name,
                            sql_query=sql,
                            columns=[quicksight.CfnDataSet.InputColumnProperty(name=c, type=t) for c, t in columns],
                        )
                    )
                },
                permissions=[
                    quicksight.CfnDataSet.ResourcePermissionProperty(
                        principal=owner, actions=list(DATA_SET_OWNER_ACTIONS)
                    )
                ],
            )
            self.data_sets[name] = data_set
        dashboard_permissions = [
            quicksight.CfnDashboard.ResourcePermissionProperty(principal=owner, actions=list(DASHBOARD_OWNER_ACTIONS))
        ]
        if settings.quicksight_viewer_group_arn:
            dashboard_permissions.append(
                quicksight.CfnDashboard.ResourcePermissionProperty(
                    principal=settings.quicksight_viewer_group_arn, actions=list(VIEWER_ACTIONS)
                )
            )
        self.dashboard = quicksight.CfnDashboard(
            self,
            "Dashboard",
            aws_account_id=stack.account,
            dashboard_id=quicksight_id("Dashboard"),
            name="Model quality",
            permissions=dashboard_permissions,
            dashboard_publish_options=quicksight.CfnDashboard.DashboardPublishOptionsProperty(
                ad_hoc_filtering_option=quicksight.CfnDashboard.AdHocFilteringOptionProperty(
                    availability_status="DISABLED"
                ),
                export_to_csv_option=quicksight.CfnDashboard.ExportToCSVOptionProperty(availability_status="ENABLED"),
            ),
        )
        self.dashboard.add_property_override(
            "Definition", dashboard_definition({name: ds.attr_arn for name, ds in self.data_sets.items()})
        )
        for resource in (self.data_source, *self.data_sets.values(), self.dashboard):
            skip_cfn_lint(
                resource,
                "E3006",
                "The template is region-agnostic; QuickSight exists only in some "
                "regions, and this construct is added only where the account has a QuickSight subscription.",
            )
