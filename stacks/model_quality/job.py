"""The precision-recall job on EMR Serverless: application, least-privilege job role, and the code as assets."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from ..common.acknowledgments import GRANT_ACTION_FINDINGS, acknowledge, acknowledge_bucket_objects
from ..common.assets import grant_asset_read
from ..common.encryption import DataKey
from ..common.functions import PROJECT_ROOT, copy_bundling
from .application_stop import ApplicationStop
from .settings import ModelQualitySettings
from .storage import QualityStorage

# EMR 7.13.0 ships Spark 3.5.6, the pyspark the job's tests pin, and Scala 2.12.18, the Scala of that pyspark's jars
# (https://docs.aws.amazon.com/emr/latest/ReleaseGuide/Spark-release-history.html; Scala: the application versions
# of https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-7140-release.html, and every emr-7.x release has a
# Scala 2.12 in https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-release-app-versions-7.x.html). The job
# calls Scala 2.12 classes through py4j (scala.collection.mutable.WrappedArray in pr_curve.delete_extracted_capture).
# tests/model_quality checks that the local pyspark has both versions.
EMR_RELEASE = "emr-7.13.0"
EMR_SPARK_VERSION = "3.5.6"
EMR_SCALA_VERSION = "2.12.18"
JOB_PACKAGE = PROJECT_ROOT / "spark_jobs"
ENTRY_POINT = JOB_PACKAGE / "model_quality" / "pr_curve.py"
EXECUTOR_VCPU = 4
# A worker's memory is the Spark memory plus 10% overhead, and 4 vCPUs take 8 to 30 GB
# (https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/app-behavior.html, supported worker
# configurations): 7g + 0.7 fills the smallest 4-vCPU worker, 8 GB. `make bench-pr` measures the job with this
# heap per core (benchmarks/pr_bench.py) and `make cost` refuses a throughput measured with more.
EXECUTOR_MEMORY_GB = 7
DRIVER_VCPU = 2
DRIVER_MEMORY_GB = 7  # the driver lists a day's files and gathers the counts: 7g + 10% on an 8 GB worker
# The application's memory cap: the driver's 4 GB per vCPU, so that the vCPU cap is the one that binds.
MAX_GB_PER_VCPU = 4


class PrCurveJob(Construct):
    """An ARM64 Spark application that starts on demand and stops when idle, and the role its job runs as.

    The role reads the capture and ground-truth locations, writes the results bucket and the job logs, and uses
    the data key; nothing else.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ModelQualitySettings,
        encryption_key: DataKey,
        storage: QualityStorage,
    ) -> None:
        super().__init__(scope, construct_id)
        self.application = emrserverless.CfnApplication(
            self,
            "Application",
            release_label=EMR_RELEASE,
            type="SPARK",
            architecture="ARM64",
            auto_start_configuration=emrserverless.CfnApplication.AutoStartConfigurationProperty(enabled=True),
            auto_stop_configuration=emrserverless.CfnApplication.AutoStopConfigurationProperty(
                enabled=True, idle_timeout_minutes=settings.quality_idle_minutes
            ),
            maximum_capacity=emrserverless.CfnApplication.MaximumAllowedResourcesProperty(
                cpu=f"{settings.quality_max_vcpu} vCPU",
                memory=f"{settings.quality_max_vcpu * MAX_GB_PER_VCPU} GB",
                disk=f"{settings.quality_max_vcpu * 20} GB",
            ),
        )
        # CloudFormation updates and deletes the application only when it is stopped.
        self.stop = ApplicationStop(
            self, "ApplicationStop", application=self.application, common=settings.common, encryption_key=encryption_key
        )
        self.entry_point = s3_assets.Asset(self, "EntryPoint", path=str(ENTRY_POINT))
        # spark_jobs/ under its own name, so the zip works as --py-files.
        self.package = s3_assets.Asset(
            self, "Package", path=str(JOB_PACKAGE), bundling=copy_bundling(**{JOB_PACKAGE.name: JOB_PACKAGE})
        )

        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("emr-serverless.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="emr-serverless",
                            resource="/applications",
                            resource_name=self.application.attr_application_id,
                        )
                    },
                }
            ),
            description="Runs the daily precision-recall job: reads captures and labels, writes results",
        )
        capture_pattern = f"{storage.capture_prefix}/*" if storage.capture_prefix else "*"
        storage.capture_bucket.grant_read(self.role, capture_pattern)
        if storage.capture_prefix:
            # Hadoop's getFileStatus of the capture root (the job's exists check, and a glob's fallback when a
            # listing is empty) heads the bare key `<prefix>` before it lists `<prefix>/`. `<prefix>/*` does not
            # cover that key, and S3 answers 403, not 404, to a HEAD the caller may not s3:GetObject
            # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, Permissions): the job would
            # fail with AccessDenied on a deployment that has captured nothing yet. This one key, nothing more.
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[storage.capture_bucket.arn_for_objects(storage.capture_prefix)],
                )
            )
        if settings.deletes_extracted_capture:
            # The run deletes the capture hour folders it has extracted: objects under the capture prefix only. A
            # recursive delete through EMRFS sends DeleteObject or multi-object DeleteObjects requests (which, AWS
            # does not document); on the unversioned capture bucket both need only s3:DeleteObject
            # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html, Permissions).
            storage.capture_bucket.grant_delete(self.role, capture_pattern)
        storage.ground_truth_bucket.grant_read(self.role)
        storage.results_bucket.grant_read_write(self.role)
        storage.results_bucket.grant_delete(self.role)
        storage.logs_bucket.grant_read_write(self.role)
        # spark-submit fetches the entry point and --py-files through Spark's S3 file system.
        for asset in (self.entry_point, self.package):
            grant_asset_read(asset, self.role, listed=True)
        encryption_key.grant_encrypt_decrypt(self.role)
        self.log_uri = storage.logs_bucket.s3_url_for_object("emr-serverless/")
        reason = (
            "Object-level wildcards are the job's own prefixes: it lists and reads every capture and label file "
            "of a day, and rewrites whole dt= partitions of its results; of the CDK assets bucket it reads only its own two objects."
        )
        acknowledge(self.role, reason, *GRANT_ACTION_FINDINGS)
        acknowledge_bucket_objects(self.role, reason, storage.capture_bucket, capture_pattern)
        for bucket in (storage.ground_truth_bucket, storage.results_bucket, storage.logs_bucket):
            acknowledge_bucket_objects(self.role, reason, bucket)

    def spark_submit_parameters(self, vcpu: int | None = None) -> str:
        """The job's Spark settings; `vcpu` caps one run's driver and executors to that share of the application
        (spark.dynamicAllocation.maxExecutors, whose default on EMR Serverless 6.10 and later is infinity:
        https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/jobs-spark.html#spark-defaults), so that two
        runs with shares that add up to the application's maximum capacity never wait for each other's workers."""
        cap = "" if vcpu is None else f" --conf spark.dynamicAllocation.maxExecutors={max_executors(vcpu)}"
        return (
            f"--py-files {self.package.s3_object_url} "
            f"--conf spark.executor.cores={EXECUTOR_VCPU} --conf spark.executor.memory={EXECUTOR_MEMORY_GB}g "
            f"--conf spark.driver.cores={DRIVER_VCPU} "
            f"--conf spark.driver.memory={DRIVER_MEMORY_GB}g --conf spark.sql.adaptive.enabled=true" + cap
        )


def max_executors(vcpu: int) -> int:
    """Executors that fit in `vcpu` next to the run's driver."""
    return (vcpu - DRIVER_VCPU) // EXECUTOR_VCPU
