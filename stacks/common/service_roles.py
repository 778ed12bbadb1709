"""Roles that an AWS service assumes, with confused-deputy conditions on their trust policies.

A service principal in a trust policy can be made to assume the role on behalf of any account's resource unless
`aws:SourceAccount` / `aws:SourceArn` pin it to this account's resources
(https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). Each service's page says whether it
sends those keys when it assumes the role; the roles here follow it.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct


def _source_conditions(scope: Construct, *source_arns: str) -> dict[str, dict[str, object]]:
    stack = Stack.of(scope)
    return {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {"aws:SourceArn": list(source_arns) if len(source_arns) > 1 else source_arns[0]},
    }


def scheduler_role(scope: Construct, construct_id: str) -> iam.Role:
    """The execution role of an EventBridge Scheduler schedule in this account's default schedule group
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html).
    Both ARN forms of the default group are accepted: the schedule group's and its schedules'."""
    stack = Stack.of(scope)
    arn = f"arn:{stack.partition}:scheduler:{stack.region}:{stack.account}"
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions=_source_conditions(scope, f"{arn}:schedule-group/default", f"{arn}:schedule/default/*"),
        ),
    )


def flow_logs_to_log_group(scope: Construct, log_group: logs.ILogGroup) -> ec2.FlowLogDestination:
    """Flow logs to `log_group`, delivered by a role that only this account's flow logs may assume
    (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html: the source ARN is the flow log's,
    arn:...:ec2:<region>:<account>:vpc-flow-log/<id>, unknown before it exists)."""
    stack = Stack.of(scope)
    role = iam.Role(
        scope,
        "FlowLogRole",
        assumed_by=iam.ServicePrincipal(
            "vpc-flow-logs.amazonaws.com",
            conditions=_source_conditions(
                scope, f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:vpc-flow-log/*"
            ),
        ),
    )
    return ec2.FlowLogDestination.to_cloud_watch_logs(log_group, role)
