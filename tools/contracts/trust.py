"""A4: every role handed to a service trusts that service, and whoever passes it may pass it only to that service.

A consumer is a place where a role is given to an AWS service: a resource property the service assumes the role
from (a function's `Role`, a namespace's `IamRoles`, ...), a role ARN inside a definition the service runs (a
state machine's EMR Serverless job, a SageMaker pipeline's steps), or a declared `iam:PassRole` call of a runtime
actor (tools/contracts/permissions.py: a Lambda that creates a SageMaker model, the Redshift ML role that hands
itself to SageMaker training). For each consumer:

- the role's trust policy lets each service principal the consumer's documentation names `sts:AssumeRole`, with
  the `aws:SourceAccount`/`aws:SourceArn` the service sends where the service documents them (a confused-deputy
  condition that can never match breaks the service as surely as a missing principal);
- the `iam:PassRole` statements of the role that passes it (when the templates hold that role) carry an
  `iam:PassedToService` condition and allow that service
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html).

Every `iam:PassRole` statement naming a role of the templates must name services that role trusts, and every
`aws:SourceArn` in a trust policy must be an ARN of the trusted service's own namespace in this account and region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from . import model
from .destinations import task_states
from .iam import Call, Principal, evaluate, resource_matches, statement_matches
from .model import Ref
from .permissions import actors
from .resolve import ACCOUNT, PARTITION, REGION, Resolver, state_machine_definition


@dataclass(frozen=True)
class Service:
    """The principals that must be trusted where a role is handed over in one way, and the page that names them."""

    principals: tuple[str, ...]
    source: str


# The one table of whom a role must trust, per way of handing it over.
LAMBDA = Service(
    ("lambda.amazonaws.com",),
    "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html (the trust policy must name "
    "lambda.amazonaws.com)",
)
STEP_FUNCTIONS = Service(
    ("states.amazonaws.com",),
    "https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html (trusted entity Step "
    "Functions; aws:SourceArn is the state machine's ARN, aws:SourceAccount its account)",
)
EVENTS = Service(
    ("events.amazonaws.com",),
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-iam-roles.html (a rule target's role is "
    "an EventBridge service role: EventBridge assumes it)",
)
SCHEDULER = Service(
    ("scheduler.amazonaws.com",),
    "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role and "
    "https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html "
    "(aws:SourceArn is the schedule group's ARN)",
)
SAGEMAKER = Service(
    ("sagemaker.amazonaws.com",),
    "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html (notebook instances, processing and "
    "training jobs, models and pipelines run with a role that trusts sagemaker.amazonaws.com)",
)
EMR_SERVERLESS = Service(
    ("emr-serverless.amazonaws.com",),
    "https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/getting-started.html#gs-runtime-role and "
    "https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/security-iam-runtime-role.html (the job "
    "runtime role passed at StartJobRun; aws:SourceArn is the application's ARN)",
)
REDSHIFT_SERVERLESS = Service(
    ("redshift-serverless.amazonaws.com", "redshift.amazonaws.com"),
    "https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-security-other-services.html (the trust "
    "relationship must contain redshift-serverless.amazonaws.com and redshift.amazonaws.com)",
)
QUICKSIGHT = Service(
    ("quicksight.amazonaws.com",),
    "https://docs.aws.amazon.com/quicksight/latest/user/security-create-iam-role.html (a role passed to QuickSight "
    "trusts quicksight.amazonaws.com) and https://docs.aws.amazon.com/quicksight/latest/user/datasource-run-as-role.html "
    "(a data source's RoleArn)",
)
FLOW_LOGS = Service(
    ("vpc-flow-logs.amazonaws.com",),
    "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html (aws:SourceArn is the flow log's ARN)",
)

# The ARN namespace of the resources each service principal acts for (what its aws:SourceArn can name).
SOURCE_NAMESPACE = {
    "lambda.amazonaws.com": "lambda",
    "states.amazonaws.com": "states",
    "events.amazonaws.com": "events",
    "scheduler.amazonaws.com": "scheduler",
    "sagemaker.amazonaws.com": "sagemaker",
    "emr-serverless.amazonaws.com": "emr-serverless",
    "redshift-serverless.amazonaws.com": "redshift-serverless",
    "redshift.amazonaws.com": "redshift",
    "quicksight.amazonaws.com": "quicksight",
    "vpc-flow-logs.amazonaws.com": "ec2",
}


@dataclass(frozen=True)
class Consumer:
    """`role` handed to `service` at `via`, by `passer` (a role of the templates, or None for CloudFormation's
    deployer), for the resource whose ARN the service sends as aws:SourceArn (`source_arn`, when documented)."""

    via: str
    role: Ref
    service: Service
    passer: Ref | None = None
    source_arn: str | None = None
    holder: Ref | None = None  # the resource of the templates whose definition hands the role over


def _role(resolver: Resolver, stack: str, value: Any) -> Ref | None:
    ref = model.find(resolver, value, stack=stack) if value is not None else None
    return ref if ref is not None and model.resource(resolver, ref)["Type"] == "AWS::IAM::Role" else None


def _arn(service: str, rest: str) -> str:
    return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{rest}"


def _property_consumers(resolver: Resolver) -> Iterator[Consumer]:
    """Roles named in resource properties, handed over by CloudFormation when it creates the resource."""
    simple: dict[str, tuple[str, Service, Callable[[Ref], str | None]]] = {
        "AWS::Lambda::Function": ("Role", LAMBDA, lambda ref: None),
        "AWS::StepFunctions::StateMachine": ("RoleArn", STEP_FUNCTIONS, lambda ref: model.arn(resolver, ref)),
        "AWS::SageMaker::NotebookInstance": ("RoleArn", SAGEMAKER, lambda ref: None),
        "AWS::SageMaker::Model": ("ExecutionRoleArn", SAGEMAKER, lambda ref: None),
        "AWS::SageMaker::Pipeline": ("RoleArn", SAGEMAKER, lambda ref: None),
        "AWS::RedshiftServerless::Namespace": ("DefaultIamRoleArn", REDSHIFT_SERVERLESS, lambda ref: None),
        "AWS::EC2::FlowLog": (
            "DeliverLogsPermissionArn",
            FLOW_LOGS,
            lambda ref: _arn("ec2", f"vpc-flow-log/fl-{ref.logical_id}"),
        ),
    }
    for kind, (field, service, source) in simple.items():
        for ref in model.all_of_type(resolver, kind):
            role = _role(resolver, ref.stack, model.properties(resolver, ref).get(field))
            if role is not None:
                yield Consumer(f"{ref} {field}", role, service, source_arn=source(ref), holder=ref)
    for ref in model.all_of_type(resolver, "AWS::RedshiftServerless::Namespace"):
        for value in model.properties(resolver, ref).get("IamRoles", []):
            role = _role(resolver, ref.stack, value)
            if role is not None:
                yield Consumer(f"{ref} IamRoles", role, REDSHIFT_SERVERLESS, holder=ref)
    for ref in model.all_of_type(resolver, "AWS::Events::Rule"):
        for target in model.properties(resolver, ref).get("Targets", []):
            role = _role(resolver, ref.stack, target.get("RoleArn"))
            if role is not None:
                yield Consumer(f"{ref} target {target.get('Id')} RoleArn", role, EVENTS, holder=ref)
    for ref in model.all_of_type(resolver, "AWS::Scheduler::Schedule"):
        props = model.properties(resolver, ref)
        role = _role(resolver, ref.stack, props.get("Target", {}).get("RoleArn"))
        if role is not None:
            group = resolver.resolve(ref.stack, props.get("GroupName", "default"))
            group_arn = _arn("scheduler", f"schedule-group/{group}")
            yield Consumer(f"{ref} Target.RoleArn", role, SCHEDULER, source_arn=group_arn, holder=ref)
    for ref in model.all_of_type(resolver, "AWS::QuickSight::DataSource"):
        for kind, parameters in model.properties(resolver, ref).get("DataSourceParameters", {}).items():
            role = _role(resolver, ref.stack, parameters.get("RoleArn"))
            if role is not None:
                yield Consumer(f"{ref} {kind}.RoleArn", role, QUICKSIGHT, holder=ref)


def _state_machine_consumers(resolver: Resolver) -> Iterator[Consumer]:
    """EMR Serverless job runtime roles a state machine passes at StartJobRun."""
    for machine in model.all_of_type(resolver, "AWS::StepFunctions::StateMachine"):
        passer = model.role_of(resolver, machine)
        for name, state in task_states(state_machine_definition(resolver, machine.stack, machine.logical_id)):
            if "emr-serverless:startJobRun" not in str(state.get("Resource", "")):
                continue
            parameters = state.get("Parameters") or state.get("Arguments") or {}
            role = _role(resolver, machine.stack, parameters.get("ExecutionRoleArn"))
            if role is not None:
                application = _arn("emr-serverless", f"/applications/{parameters.get('ApplicationId')}")
                via = f"{machine} state {name} ExecutionRoleArn"
                yield Consumer(via, role, EMR_SERVERLESS, passer, source_arn=application, holder=machine)


def _pipeline_steps(steps: list[dict]) -> Iterator[dict]:
    for step in steps:
        yield step
        arguments = step.get("Arguments", {})
        yield from _pipeline_steps(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))


def _pipeline_consumers(resolver: Resolver) -> Iterator[Consumer]:
    """The roles a SageMaker pipeline's steps run with (processing, training, model), passed by the pipeline role."""
    for pipeline in model.all_of_type(resolver, "AWS::SageMaker::Pipeline"):
        props = model.properties(resolver, pipeline)
        body = props.get("PipelineDefinition", {}).get("PipelineDefinitionBody")
        if body is None:
            continue
        definition = json.loads(str(resolver.resolve(pipeline.stack, body)))
        passer = _role(resolver, pipeline.stack, props.get("RoleArn"))
        for step in _pipeline_steps(definition.get("Steps", [])):
            for field in ("RoleArn", "ExecutionRoleArn"):
                value = step.get("Arguments", {}).get(field)
                role = _role_named(resolver, value) if isinstance(value, str) else None
                if role is not None:
                    yield Consumer(
                        f"{pipeline} step {step.get('Name')} {field}", role, SAGEMAKER, passer, holder=pipeline
                    )


def _role_named(resolver: Resolver, arn: str) -> Ref | None:
    for role in model.all_of_type(resolver, "AWS::IAM::Role"):
        if model.arn(resolver, role) == arn:
            return role
    return None


def _declared_consumers(resolver: Resolver) -> Iterator[Consumer]:
    """Runtime actors' declared iam:PassRole calls (tools/contracts/permissions.py): the service is the declared
    iam:PassedToService, the documentation is the declaration's own source."""
    for actor in actors(resolver):
        for call in actor.calls:
            if call.action.lower() != "iam:passrole":
                continue
            role = _role_named(resolver, call.resource)
            if role is None:
                continue
            service = call.context.get("iam:PassedToService")
            principals = (service,) if service else ()
            yield Consumer(
                f"{actor.label} declared iam:PassRole", role, Service(principals, "the declaration"), actor.role
            )


def consumers(resolver: Resolver) -> list[Consumer]:
    return [
        *_property_consumers(resolver),
        *_state_machine_consumers(resolver),
        *_pipeline_consumers(resolver),
        *_declared_consumers(resolver),
    ]


def trust_statements(resolver: Resolver, role: Ref) -> list[dict]:
    document = resolver.resolve(role.stack, model.properties(resolver, role).get("AssumeRolePolicyDocument", {}))
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _trusts(resolver: Resolver, consumer: Consumer, principal: str) -> str | None:
    context = {}
    if consumer.source_arn is not None:  # the service documents both keys; it sends them on AssumeRole
        context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": consumer.source_arn}
    call = Call("sts:AssumeRole", model.arn(resolver, consumer.role), context)
    decision = evaluate(
        call, principal=Principal("Service", principal), resource_policy=trust_statements(resolver, consumer.role)
    )
    if decision.allowed:
        return None
    source = f" for {consumer.source_arn}" if consumer.source_arn else ""
    return f"its trust policy does not let {principal} assume it{source} ({consumer.service.source})"


def _pass_statements(resolver: Resolver, passer: Ref, role: Ref) -> list[dict]:
    """The Allow statements of `passer` that name iam:PassRole on `role`, whatever their conditions."""
    arn = model.arn(resolver, role)
    found = []
    for statement in model.role_statements(resolver, passer):
        if statement.get("Effect") != "Allow":
            continue
        if statement_matches({**statement, "Condition": {}}, Call("iam:PassRole", arn)):
            found.append(statement)
    return found


def _names_passed_to_service(statement: dict) -> bool:
    return any(
        key.lower() == "iam:passedtoservice" for keys in (statement.get("Condition") or {}).values() for key in keys
    )


def _passing(resolver: Resolver, consumer: Consumer) -> list[str]:
    if consumer.passer is None:
        return []
    statements = _pass_statements(resolver, consumer.passer, consumer.role)
    if not statements:
        return [f"{consumer.passer} holds no iam:PassRole on it"]
    problems = [
        f"{consumer.passer}'s iam:PassRole ({s.get('Sid', 'no Sid')}) has no iam:PassedToService condition"
        for s in statements
        if not _names_passed_to_service(s)
    ]
    for principal in consumer.service.principals:
        call = Call("iam:PassRole", model.arn(resolver, consumer.role), {"iam:PassedToService": principal})
        if not evaluate(call, principal=model.role_principal(resolver, consumer.passer), identity=statements).allowed:
            problems.append(f"{consumer.passer}'s iam:PassRole does not allow iam:PassedToService {principal}")
    return problems


def consumer_problems(resolver: Resolver) -> list[str]:
    problems = []
    for consumer in consumers(resolver):
        found = []
        if not consumer.service.principals:
            found.append("the declared iam:PassRole names no iam:PassedToService")
        found += [p for p in (_trusts(resolver, consumer, s) for s in consumer.service.principals) if p]
        found += _passing(resolver, consumer)
        problems += [f"{consumer.role} handed to {consumer.via}: {problem}" for problem in found]
    return problems


def _services(statement: dict) -> list[str]:
    principal = statement.get("Principal")
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    return [str(s) for s in (services if isinstance(services, list) else [services])]


def pass_role_problems(resolver: Resolver) -> list[str]:
    """Every iam:PassRole statement that names a role of the templates names services the role trusts."""
    problems = []
    roles = list(model.all_of_type(resolver, "AWS::IAM::Role"))
    for passer in roles:
        for role in roles:
            for statement in _pass_statements(resolver, passer, role):
                conditions = statement.get("Condition") or {}
                named = [
                    str(value)
                    for operator, keys in conditions.items()
                    if not operator.startswith(("StringNot", "ForAllValues:StringNot"))
                    for key, values in keys.items()
                    if key.lower() == "iam:passedtoservice"
                    for value in (values if isinstance(values, list) else [values])
                ]
                if not named:
                    problems.append(f"{passer} may pass {role} to any service: no iam:PassedToService condition")
                trusted = [
                    s for t in trust_statements(resolver, role) if t.get("Effect") == "Allow" for s in _services(t)
                ]
                for service in named:
                    if not any(resource_matches(service, t) for t in trusted):
                        problems.append(f"{passer} may pass {role} to {service}, which the role does not trust")
    return problems


def source_arn_problems(resolver: Resolver) -> list[str]:
    """Every aws:SourceArn of a trust statement is an ARN of the trusted service's namespace, in this partition,
    account and region (or a wildcard there): any other value never matches what the service sends."""
    problems = []
    for role in model.all_of_type(resolver, "AWS::IAM::Role"):
        for statement in trust_statements(resolver, role):
            for operator, keys in (statement.get("Condition") or {}).items():
                for key, values in keys.items():
                    if key.lower() != "aws:sourcearn" or operator.startswith(("StringNot", "ArnNot")):
                        continue
                    for value in values if isinstance(values, list) else [values]:
                        for service in _services(statement):
                            problem = _source_arn_problem(service, str(value))
                            if problem:
                                problems.append(f"{role} trust of {service}: aws:SourceArn {value} {problem}")
    return problems


def _source_arn_problem(service: str, value: str) -> str | None:
    parts = value.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return "is not an ARN"
    _, partition, namespace, region, account, _rest = parts
    expected = SOURCE_NAMESPACE.get(service)
    checks = [
        (partition, PARTITION, "partition"),
        (namespace, expected, "service"),
        (region, REGION, "region"),
        (account, ACCOUNT, "account"),
    ]
    for actual, wanted, what in checks:
        if wanted is not None and not resource_matches(actual, wanted):
            return f"names {what} {actual!r}, never {wanted!r}"
    return None


def unconsumed(resolver: Resolver) -> list[Ref]:
    """Roles no known consumer hands to a service: a way of handing roles over that the table lacks."""
    handed = {consumer.role for consumer in consumers(resolver)}
    return [role for role in model.all_of_type(resolver, "AWS::IAM::Role") if role not in handed]


def check(resolver: Resolver) -> list[str]:
    problems = consumer_problems(resolver) + pass_role_problems(resolver) + source_arn_problems(resolver)
    problems += [f"{role} is handed to no service the trust contract knows" for role in unconsumed(resolver)]
    return sorted(set(problems))
