"""Lambda functions with the kit's defaults, bundled from the repository without Docker."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, Duration, ILocalBundling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .acknowledgments import acknowledge, skip_checkov
from .config import CommonSettings
from .encryption import DataKey
from .logs import EncryptedLogGroup

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUNTIME = lambda_.Runtime.PYTHON_3_14


@jsii.implements(ILocalBundling)
class _CopyInto:
    """Local bundling: copy the handler folder, plus extra folders under given names, into the asset."""

    def __init__(self, handler_dir: Path | None, extra_dirs: dict[str, Path]) -> None:
        self._handler_dir = handler_dir
        self._extra_dirs = extra_dirs

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        skip = shutil.ignore_patterns("__pycache__", "*.pyc")
        if self._handler_dir is not None:
            shutil.copytree(self._handler_dir, output_dir, dirs_exist_ok=True, ignore=skip)
        for name, source in self._extra_dirs.items():
            shutil.copytree(source, Path(output_dir) / name, dirs_exist_ok=True, ignore=skip)
        return True


def copy_bundling(handler_dir: Path | None = None, **extra_dirs: Path) -> BundlingOptions:
    """Docker-free bundling: `handler_dir`'s files at the asset root, each `extra_dirs` folder under its name."""
    return BundlingOptions(
        # Never used: local bundling always succeeds, so no Docker engine is needed.
        image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),
        local=_CopyInto(handler_dir, extra_dirs),
    )


def bundled_code(handler_dir: str, **extra_dirs: str) -> lambda_.Code:
    """Code from `lambdas/<handler_dir>` with each `extra_dirs` folder (repository paths) copied in by name.

    Hashed from the bundled output: the default source hash covers `handler_dir` only, so a change to a folder copied
    in (the Redshift SQL files) would leave the asset, and the function, unchanged."""
    source = PROJECT_ROOT / "lambdas" / handler_dir
    extras = {name: PROJECT_ROOT / path for name, path in extra_dirs.items()}
    return lambda_.Code.from_asset(
        str(source), bundling=copy_bundling(source, **extras), asset_hash_type=AssetHashType.OUTPUT
    )


# Why a function has no dead-letter queue. CloudFormation invokes a custom-resource function asynchronously
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources-lambda.html), so such a
# function passes its own reason.
SYNCHRONOUS_NO_DLQ = (
    "Invoked synchronously (a Step Functions task), which returns errors to the caller; a dead-letter queue only "
    "applies to asynchronous invocations."
)


class KitFunction(lambda_.Function):
    """A small, dependency-free Python handler: newest runtime, encrypted log group, no reserved concurrency.

    Pass `dead_letter_queue` for functions invoked asynchronously (events), or `no_dead_letter_queue_reason` saying
    why one that is invoked asynchronously needs none; the default reason is for functions invoked synchronously.
    Concurrency is not reserved: a new account's Lambda quota can be 10, and a reservation must leave 100
    unreserved, so any reservation fails the deployment there ("... decreases account's
    UnreservedConcurrentExecution below its minimum value"). A handler that must not run twice guards itself.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        common: CommonSettings,
        encryption_key: DataKey,
        code: lambda_.Code,
        handler: str,
        description: str,
        timeout: Duration,
        environment: dict[str, str] | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        no_dead_letter_queue_reason: str = SYNCHRONOUS_NO_DLQ,
    ) -> None:
        log_group = EncryptedLogGroup(scope, f"{construct_id}LogGroup", common=common, encryption_key=encryption_key)
        # An own role instead of AWSLambdaBasicExecutionRole: write to this function's log group only.
        role = iam.Role(scope, f"{construct_id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        super().__init__(
            scope,
            construct_id,
            runtime=RUNTIME,
            code=code,
            handler=handler,
            description=description,
            timeout=timeout,
            memory_size=256,
            environment=environment,
            environment_encryption=encryption_key,
            log_group=log_group,
            role=role,
            dead_letter_queue=dead_letter_queue,
        )
        no_vpc = (
            "Calls only AWS APIs (IAM-authenticated, TLS) and no private endpoint; running it in the VPC would "
            "need interface endpoints that cost more than this reference kit's sandbox."
        )
        no_reservation = (
            "No reserved concurrency on purpose: accounts with a low concurrency quota cannot reserve any "
            "(100 must stay unreserved), so a reservation fails the deployment; handlers that must not run twice "
            "guard themselves (the model lifecycle refuses a second refresh, the endpoint deployer a busy endpoint)."
        )
        acknowledge(self, no_reservation, "NIST.800.53.R5-LambdaConcurrency")
        skip_checkov(cast(lambda_.CfnFunction, self.node.default_child), "CKV_AWS_115", no_reservation)
        if dead_letter_queue is None:
            acknowledge(self, no_dead_letter_queue_reason, "NIST.800.53.R5-LambdaDLQ")
            skip_checkov(cast(lambda_.CfnFunction, self.node.default_child), "CKV_AWS_116", no_dead_letter_queue_reason)
        acknowledge(self, no_vpc, "NIST.800.53.R5-LambdaInsideVPC", "lambda_inside_vpc_check")
        skip_checkov(cast(lambda_.CfnFunction, self.node.default_child), "CKV_AWS_117", no_vpc)
