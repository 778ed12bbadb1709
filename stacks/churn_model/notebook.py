"""The library path: a notebook instance with `sagemaker_pyspark`, in a VPC with no route to the internet.

Packages come from a CodeArtifact repository whose upstream is PyPI, reached through VPC endpoints, so the
lifecycle configuration can `pip install sagemaker_pyspark` without a NAT gateway or direct internet access.
The example script (`examples/sagemaker_pyspark_churn.py`) is copied next to the notebooks when the home folder has
none (after the first restore of a new volume, or on a start after the user deleted it); a copy there, edited or
not, is the user's and never replaced.

Users' notebooks outlive the instance: every 5 minutes (and before an idle stop) they are copied to `notebook/home/`
of the artifacts bucket, which a production destroy keeps, and a new instance (after a destroy and redeploy, or
`churn_notebook` turned off and on) restores them on its first start. The instance stops itself after
`churn_notebook_idle_minutes` without kernel activity (`notebook_idle_stop.py`).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, Fn, Stack
from aws_cdk import aws_codeartifact as codeartifact
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ..common.acknowledgments import (
    GRANT_ACTION_FINDINGS,
    acknowledge,
    acknowledge_bucket_objects,
    skip_cfn_lint,
)
from ..common.assets import grant_asset_read
from ..common.encryption import DataKey, grant_create_grant_for_aws_resources
from ..common.functions import PROJECT_ROOT
from ..common.logs import EncryptedLogGroup, aws_sdk_calls_log_group
from ..common.names import physical_name, scoped_id
from ..common.network import add_interface_endpoints, limit_s3_gateway_endpoint, s3_prefix_list
from ..common.service_roles import flow_logs_to_log_group
from .settings import ChurnModelSettings

SAGEMAKER_PYSPARK_VERSION = "1.4.5"
VPC_CIDR = "10.41.0.0/16"
EXAMPLE = PROJECT_ROOT / "examples" / "sagemaker_pyspark_churn.py"
IDLE_STOP = Path(__file__).with_name("notebook_idle_stop.py")
NOTEBOOK_HOME = "/home/ec2-user/SageMaker"  # the folder Jupyter shows, on the instance's ML storage volume
# Where the notebooks are copied, under the artifacts bucket (the role may read and write notebook/*).
HOME_PREFIX = "notebook/home/"


class SageMakerSparkNotebook(Construct):
    """Exposes `vpc`, `role`, `repository`, `instance`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ChurnModelSettings,
        encryption_key: DataKey,
        artifacts_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            max_azs=2,
            nat_gateways=0,
            # Without @aws-cdk/aws-ec2:restrictDefaultSecurityGroup the default security group keeps its allow-all rules.
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Notebook", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=flow_logs_to_log_group(
                        self,
                        EncryptedLogGroup(self, "FlowLogGroup", common=settings.common, encryption_key=encryption_key),
                    )
                )
            },
        )
        security_group = ec2.SecurityGroup(
            self,
            "NotebookSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Churn notebook: HTTPS to VPC endpoints only",
        )
        limit_s3_gateway_endpoint(self.vpc)
        # HTTPS only to the S3 gateway endpoint (its prefix list) and the interface endpoints' security group.
        s3_peer = s3_prefix_list(
            self, aws_sdk_calls_log_group(self, common=settings.common, encryption_key=encryption_key)
        )
        security_group.add_egress_rule(s3_peer, ec2.Port.tcp(443), "HTTPS to the S3 gateway endpoint")
        # disable_inline_rules: its ingress rule is a resource of its own, so it and the notebook group's egress to it
        # do not reference each other (a circular dependency).
        endpoint_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Interface endpoints for the churn notebook",
            disable_inline_rules=True,
        )
        endpoint_group.add_ingress_rule(
            ec2.Peer.security_group_id(security_group.security_group_id), ec2.Port.tcp(443), "HTTPS from the notebook"
        )
        security_group.add_egress_rule(
            ec2.Peer.security_group_id(endpoint_group.security_group_id),
            ec2.Port.tcp(443),
            "HTTPS to the interface endpoints",
        )
        add_interface_endpoints(
            self.vpc,
            self.vpc,
            [
                ("SageMakerApi", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API),
                ("SageMakerRuntime", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME),
                ("Sts", ec2.InterfaceVpcEndpointAwsService.STS),
                ("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS),
                ("CodeArtifactApi", ec2.InterfaceVpcEndpointAwsService.CODEARTIFACT_API),
                ("CodeArtifactRepositories", ec2.InterfaceVpcEndpointAwsService.CODEARTIFACT_REPOSITORIES),
            ],
            security_groups=[endpoint_group],
        )

        # Domain names: 2 to 50 lowercase letters, digits and hyphens, starting with a letter, unique in the account
        # and region (https://docs.aws.amazon.com/codeartifact/latest/APIReference/API_CreateDomain.html). The key
        # is create-only: it goes into the name, so another key renames the domain instead of failing the update.
        domain_name = physical_name(
            self, "PackageDomain", max_length=50, lowercase=True, create_only=[encryption_key.key_arn]
        )
        domain = codeartifact.CfnDomain(
            self, "PackageDomain", domain_name=domain_name, encryption_key=encryption_key.key_arn
        )
        self.repository = codeartifact.CfnRepository(
            self,
            scoped_id("PypiRepository", domain_name),
            domain_name=domain.attr_name,
            # Unique in its domain, which carries the stack's name; at most 100 characters (API_CreateRepository).
            repository_name="pypi-mirror",
            description="PyPI through CodeArtifact, for a notebook with no internet route",
            external_connections=["public:pypi"],
        )
        example = s3_assets.Asset(self, "ExampleScript", path=str(EXAMPLE))
        idle_stop = s3_assets.Asset(self, "IdleStopScript", path=str(IDLE_STOP))

        self.role = iam.Role(
            self,
            "NotebookRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Churn notebook: sagemaker_pyspark training and hosting from code",
        )
        grant_asset_read(example, self.role)  # one `aws s3 cp` of the object
        grant_asset_read(idle_stop, self.role)
        # The example reads the pipeline's features (runs/<execution id>/features/) and stages the library's
        # training input and output under notebook/ (passed explicitly: its default is a bucket of its own).
        artifacts_bucket.grant_read(self.role, "runs/*")
        artifacts_bucket.grant_read_write(self.role, "notebook/*")
        encryption_key.grant_encrypt_decrypt(self.role)
        grant_create_grant_for_aws_resources(encryption_key, self.role)
        self._grant(domain)
        reason = (
            "The notebook's own names: churn-spark-* SageMaker resources the library creates, its packages in "
            "its CodeArtifact repository, SageMaker's log groups, objects under notebook/ of the artifacts "
            "bucket, read-only the pipeline runs' features under runs/, and the example asset's own object; the bearer-token call has no resource type and is limited to "
            "CodeArtifact; action wildcards come from CDK grants on one bucket and one key."
        )
        partition_region_account = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>"
        sagemaker_arn = partition_region_account.format("sagemaker")
        acknowledge(
            self.role,
            reason,
            *GRANT_ACTION_FINDINGS,
            "AwsSolutions-IAM5[Resource::*]",
            *(
                f"AwsSolutions-IAM5[Resource::{sagemaker_arn}:{kind}/churn-spark-*]"
                for kind in ("training-job", "model", "endpoint-config", "endpoint")
            ),
            *(
                f"AwsSolutions-IAM5[Resource::{partition_region_account.format('logs')}:log-group:/aws/sagemaker/{kind}:*]"
                for kind in ("NotebookInstances", "TrainingJobs", "Endpoints")
            ),
            f"AwsSolutions-IAM5[Resource::{partition_region_account.format('codeartifact')}:package/"
            f"<{Stack.of(self).get_logical_id(domain)}.Name>/<{Stack.of(self).get_logical_id(self.repository)}.Name>/*]",
        )
        acknowledge_bucket_objects(self.role, reason, artifacts_bucket, "notebook/*")
        acknowledge_bucket_objects(self.role, reason, artifacts_bucket, "runs/*")

        # As the notebook user, in the conda environment the example uses. A lifecycle script that runs longer than
        # 5 minutes fails the start (API NotebookInstanceLifecycleHook), so the pip install and the first restore run
        # in the background with nohup (https://docs.aws.amazon.com/sagemaker/latest/dg/notebook-lifecycle-settings.common.html);
        # their logs are ~/kit-install.log and ~/kit-sync.log. Isolated subnets reach only the regional STS endpoint
        # (its interface endpoint), so SDKs and the CLI are set to use it: sts_regional_endpoints in the shared config
        # file (https://docs.aws.amazon.com/sdkref/latest/guide/feature-sts-regionalized-endpoints.html).
        # kit-sync.sh restores the notebooks from S3 once per volume (the .kit-restored marker), puts the example
        # there if the restore brought none (a start puts it back once restored, if the user deleted it: copying
        # it over the user's edited copy on every start let the next sync replace the saved one), then copies them up
        # with --delete (production versions the bucket, so a deleted notebook stays a noncurrent version); flock
        # keeps a restore and an upload from overlapping, which would delete what is not restored yet. cron runs
        # kit-idle-stop.py every 5 minutes as the notebook user: it syncs, then stops the instance when idle.
        lines = [
            "#!/bin/bash",
            "set -euo pipefail",
            "sudo -u ec2-user -i <<'EOF'",
            "aws configure set sts_regional_endpoints regional",
            "aws configure set region ${AWS::Region}",
            f"if [ -e {NOTEBOOK_HOME}/.kit-restored ] && [ ! -e {NOTEBOOK_HOME}/{EXAMPLE.name} ]; then "
            f"aws s3 cp ${{Example}} {NOTEBOOK_HOME}/{EXAMPLE.name}; fi",
            "aws s3 cp ${IdleStop} /home/ec2-user/kit-idle-stop.py",
            "cat > /home/ec2-user/kit-sync.sh <<'SYNC'",
            "set -euo pipefail",
            "exec 9>/tmp/kit-sync.lock",
            "flock -n 9 || exit 0",
            f"home={NOTEBOOK_HOME}",
            f"target=s3://${{Bucket}}/{HOME_PREFIX}",
            "if [ ! -e $home/.kit-restored ]; then aws s3 sync --quiet $target $home/ && "
            f"{{ [ -e $home/{EXAMPLE.name} ] || aws s3 cp ${{Example}} $home/{EXAMPLE.name}; }} && "
            "touch $home/.kit-restored; fi",
            "aws s3 sync --quiet --delete --exclude .kit-restored --exclude 'lost+found/*' "
            "--exclude '*.ipynb_checkpoints/*' $home/ $target",
            "SYNC",
            "cat > /home/ec2-user/kit-install.sh <<'INSTALL'",
            "source /home/ec2-user/anaconda3/bin/activate python3",
            "aws codeartifact login --tool pip --domain ${Domain} --domain-owner ${AWS::AccountId} "
            "--repository ${Repository} --region ${AWS::Region}",
            f"pip install --quiet sagemaker_pyspark=={SAGEMAKER_PYSPARK_VERSION}",
            "INSTALL",
            "nohup bash /home/ec2-user/kit-install.sh > /home/ec2-user/kit-install.log 2>&1 &",
            "nohup bash /home/ec2-user/kit-sync.sh > /home/ec2-user/kit-sync.log 2>&1 &",
            "touch /tmp/kit-started",
        ]
        if settings.churn_notebook_idle_minutes:
            lines.append(
                "(crontab -l 2>/dev/null | grep -v kit-idle-stop || true; echo '*/5 * * * * bash -lc \"python3 "
                f"/home/ec2-user/kit-idle-stop.py {settings.churn_notebook_idle_minutes} /tmp/kit-started "
                "/home/ec2-user/kit-sync.sh\" >> /home/ec2-user/kit-idle-stop.log 2>&1') | crontab -"
            )
        else:
            lines.append(
                "(crontab -l 2>/dev/null | grep -v kit-sync || true; echo '*/5 * * * * bash -lc "
                '"bash /home/ec2-user/kit-sync.sh" >> /home/ec2-user/kit-sync.log 2>&1\') | crontab -'
            )
        lines.append("EOF")
        script = Fn.sub(
            "\n".join(lines),
            {
                "Domain": domain.attr_name,
                "Repository": self.repository.attr_name,
                "Example": example.s3_object_url,
                "IdleStop": idle_stop.s3_object_url,
                "Bucket": artifacts_bucket.bucket_name,
            },
        )
        lifecycle = sagemaker.CfnNotebookInstanceLifecycleConfig(
            self,
            "LifecycleConfig",
            on_start=[
                sagemaker.CfnNotebookInstanceLifecycleConfig.NotebookInstanceLifecycleHookProperty(
                    content=Fn.base64(script)
                )
            ],
        )
        self.instance = sagemaker.CfnNotebookInstance(
            self,
            "NotebookInstance",
            instance_type=settings.churn_notebook_instance_type,
            role_arn=self.role.role_arn,
            subnet_id=self.vpc.isolated_subnets[0].subnet_id,
            security_group_ids=[security_group.security_group_id],
            direct_internet_access="Disabled",
            root_access="Disabled",
            kms_key_id=encryption_key.key_id,
            volume_size_in_gb=20,
            # Amazon Linux 2. AL2023's identifier is notebook-al2023-v1, the API's default
            # (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/
            # aws-resource-sagemaker-notebookinstance.html, PlatformIdentifier; create-only, so a change replaces the
            # instance). The kit stays on AL2 until its lifecycle script is tried there: the script schedules the
            # sync and the idle stop with crontab, and cron is not installed by default on AL2023
            # (https://docs.aws.amazon.com/linux/al2/ug/prepare-for-al2023.html).
            platform_identifier="notebook-al2-v3",
            instance_metadata_service_configuration=sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                minimum_instance_metadata_service_version="2"
            ),
            lifecycle_config_name=lifecycle.attr_notebook_instance_lifecycle_config_name,
        )
        self.instance.node.add_dependency(self.vpc)
        # The instance stops itself when idle: its own ARN only, in a policy of its own, created after the instance
        # (the role's default policy cannot name an instance that is created after the role).
        iam.Policy(
            self,
            "StopWhenIdlePolicy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:StopNotebookInstance"], resources=[self.instance.attr_notebook_instance_arn]
                )
            ],
        )
        for resource in (domain, self.repository, lifecycle, self.instance):
            skip_cfn_lint(
                resource,
                "E3006",
                "cfn-lint checks every region; CodeArtifact and notebook instances are "
                "in fewer regions than the pipeline, and the notebook (churn_notebook) is optional: leave it "
                "off where the region lacks them.",
            )

    def _grant(self, domain: codeartifact.CfnDomain) -> None:
        arn = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        for statement in (
            iam.PolicyStatement(
                sid="ReadPackages",
                actions=[
                    "codeartifact:GetAuthorizationToken",
                    "codeartifact:GetRepositoryEndpoint",
                    "codeartifact:ReadFromRepository",
                ],
                resources=[
                    domain.attr_arn,
                    self.repository.attr_arn,
                    f"arn:{Aws.PARTITION}:codeartifact:{Aws.REGION}:{Aws.ACCOUNT_ID}:package/"
                    f"{domain.attr_name}/{self.repository.attr_name}/*",
                ],
            ),
            iam.PolicyStatement(
                sid="CodeArtifactBearerToken",
                actions=["sts:GetServiceBearerToken"],
                resources=["*"],
                conditions={"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
            ),
            # SageMakerEstimator creates its training job, model, endpoint config and endpoint from the notebook.
            iam.PolicyStatement(
                sid="TrainAndHostFromSpark",
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:DeleteModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:InvokeEndpoint",
                    "sagemaker:AddTags",
                ],
                resources=[
                    f"{arn}:training-job/churn-spark-*",
                    f"{arn}:model/churn-spark-*",
                    f"{arn}:endpoint-config/churn-spark-*",
                    f"{arn}:endpoint/churn-spark-*",
                ],
            ),
            iam.PolicyStatement(
                sid="PassOwnRole",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="NotebookLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/{kind}:*"
                    for kind in ("NotebookInstances", "TrainingJobs", "Endpoints")
                ],
            ),
        ):
            self.role.add_to_policy(statement)
