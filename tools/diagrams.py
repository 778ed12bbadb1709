"""Architecture diagrams generated from the synthesized cloud assembly, as Mermaid on each architecture's docs page.

    python -m tools.diagrams          (make diagrams)  rewrite the diagram block of each page in docs/architectures/

A node is a resource a reader of the architecture cares about (buckets, functions, state machines, warehouses,
jobs, endpoints' deployer, schedules, topics, dashboards); IAM, networking, keys and log groups are left out.
A solid arrow is a direct reference in the template (a schedule's target, a step's function, an environment
variable); a dashed arrow is access granted through the source's IAM role. Nodes are grouped by the construct
that creates them, so the picture follows the code's files.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from stacks.common.names import DIGEST_LENGTH
from tools.synthesis import PROJECT_ROOT, synthesize

DIAGRAM_PROFILE = "production"  # the profile that deploys every component
# The optional parts on, so the diagram shows them: QuickSight needs an owner (any ARN of the right shape draws it).
DIAGRAM_CONTEXT = {
    "kit:quicksight_owner_arn": "arn:aws:quicksight:us-east-1:111122223333:user/default/owner",
    "kit:churn_notebook": "true",
}
DOCS = PROJECT_ROOT / "docs"
# The page of each stack's diagram.
PAGES = {
    "RedshiftMlStack": DOCS / "architectures" / "redshift-ml.md",
    "ModelQualityStack": DOCS / "architectures" / "model-quality.md",
    "ChurnModelStack": DOCS / "architectures" / "churn-model.md",
}
KINDS = {  # resource type -> (label, Mermaid shape opening, closing)
    "AWS::S3::Bucket": ("S3 bucket", "[(", ")]"),
    "AWS::Lambda::Function": ("Lambda", "[", "]"),
    "AWS::StepFunctions::StateMachine": ("Step Functions", "[[", "]]"),
    "AWS::Scheduler::Schedule": ("schedule", "([", "])"),
    "AWS::Events::Rule": ("EventBridge rule", "([", "])"),
    "AWS::SNS::Topic": ("SNS topic", ">", "]"),
    "AWS::SQS::Queue": ("SQS queue", ">", "]"),
    "AWS::CloudWatch::Alarm": ("alarm", "{{", "}}"),
    "AWS::RedshiftServerless::Namespace": ("Redshift namespace", "[(", ")]"),
    "AWS::RedshiftServerless::Workgroup": ("Redshift Serverless", "[", "]"),
    "AWS::EMRServerless::Application": ("EMR Serverless", "[", "]"),
    "AWS::Glue::Table": ("Glue table", "[(", ")]"),
    "AWS::Athena::WorkGroup": ("Athena workgroup", "[", "]"),
    "AWS::QuickSight::DataSource": ("QuickSight data source", "[", "]"),
    "AWS::QuickSight::DataSet": ("QuickSight data set", "[", "]"),
    "AWS::QuickSight::Dashboard": ("QuickSight dashboard", "[", "]"),
    "AWS::SageMaker::Pipeline": ("SageMaker pipeline", "[[", "]]"),
    "AWS::SageMaker::ModelPackageGroup": ("model registry", "[(", ")]"),
    "AWS::SageMaker::NotebookInstance": ("notebook", "[", "]"),
    "Custom::RedshiftBootstrap": ("custom resource", "[/", "/]"),
}
# Kinds that come in numbers: one node per construct, "5 alarms", with their names, instead of one each.
COLLAPSED = {
    "AWS::CloudWatch::Alarm": "alarms",
    "AWS::Glue::Table": "Glue tables",
    "AWS::QuickSight::DataSet": "QuickSight data sets",
}
LEFT_OUT = ("AccessLogsBucket",)  # every bucket logs to it: an arrow from each would hide the rest
# What flows along a direct reference, by (source kind, target kind); reversed ones are drawn target -> source, the
# way the data goes (a dashboard refers to its data set; the data flows from the data set to the dashboard).
FLOWS: dict[tuple[str, str], tuple[str, bool]] = {
    ("AWS::Scheduler::Schedule", "AWS::StepFunctions::StateMachine"): ("starts", False),
    ("AWS::Scheduler::Schedule", "AWS::Lambda::Function"): ("invokes", False),
    ("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine"): ("checks the runs of", False),
    ("AWS::Events::Rule", "AWS::Lambda::Function"): ("event", False),
    ("AWS::Events::Rule", "AWS::SQS::Queue"): ("undelivered events", False),
    ("AWS::Events::Rule", "AWS::SNS::Topic"): ("notice", False),
    ("AWS::Events::Rule", "AWS::StepFunctions::StateMachine"): ("timed out, aborted", True),
    ("AWS::Lambda::Function", "AWS::SQS::Queue"): ("failed events", False),
    ("AWS::CloudWatch::Alarm", "AWS::SNS::Topic"): ("alarm", False),
    ("AWS::CloudWatch::Alarm", "AWS::SQS::Queue"): ("queue depth", True),
    ("AWS::CloudWatch::Alarm", "AWS::Lambda::Function"): ("errors", True),
    ("AWS::CloudWatch::Alarm", "AWS::StepFunctions::StateMachine"): ("failed runs", True),
    ("AWS::StepFunctions::StateMachine", "AWS::Lambda::Function"): ("invokes", False),
    ("AWS::StepFunctions::StateMachine", "AWS::EMRServerless::Application"): ("runs the daily job", False),
    ("AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"): ("notifies", False),
    ("Custom::RedshiftBootstrap", "AWS::Lambda::Function"): ("runs on deploy", False),
    ("AWS::RedshiftServerless::Workgroup", "AWS::RedshiftServerless::Namespace"): ("compute for", False),
    ("AWS::Glue::Table", "AWS::S3::Bucket"): ("results as tables", True),
    ("AWS::Athena::WorkGroup", "AWS::S3::Bucket"): ("query results", False),
    ("AWS::QuickSight::DataSource", "AWS::Athena::WorkGroup"): ("queries", True),
    ("AWS::QuickSight::DataSet", "AWS::QuickSight::DataSource"): ("rows", True),
    ("AWS::QuickSight::DataSet", "AWS::Glue::Table"): ("tables", True),
    ("AWS::QuickSight::Dashboard", "AWS::QuickSight::DataSet"): ("visuals", True),
    ("AWS::SageMaker::Pipeline", "AWS::S3::Bucket"): ("features, model artifacts", False),
    ("AWS::SageMaker::Pipeline", "AWS::SageMaker::ModelPackageGroup"): ("registers the model", False),
    ("AWS::Events::Rule", "AWS::SageMaker::ModelPackageGroup"): ("approval event", True),
    ("AWS::Lambda::Function", "AWS::SageMaker::ModelPackageGroup"): ("approved package", True),
    ("Custom::RedshiftBootstrap", "AWS::RedshiftServerless::Workgroup"): ("schema, sample data", False),
    ("AWS::Lambda::Function", "AWS::RedshiftServerless::Workgroup"): ("SQL (Data API)", False),
}
# References that are not a flow (a function that names an alarm it reads the state of).
NOT_FLOWS = {("AWS::Lambda::Function", "AWS::CloudWatch::Alarm")}
# Names a template repeats as plain strings instead of references (an event pattern, a pipeline definition).
NAME_PROPERTIES = {
    "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupName",),
    "AWS::Glue::Table": ("TableInput", "Name"),
    "AWS::Athena::WorkGroup": ("Name",),
}
# Resources created at run time, not by the template: drawn from the environment of the function that creates them.
# Keyed on the variables that identify the creator (the churn deployer names an endpoint and the model group it
# deploys from).
RUNTIME_RESOURCES = {
    ("ENDPOINT_NAME", "MODEL_PACKAGE_GROUP"): (
        "SageMakerEndpoint",
        "SageMaker endpoint<br/><i>created by the deployer</i>",
        "deploys the approved model",
    )
}
# A value read from another stack: weakly (Fn::GetStackOutput names the stack) or strongly (Fn::ImportValue of an
# export CDK names "<stack>:ExportsOutput...").
STACK_OUTPUT = re.compile(
    r"""['"]Fn::GetStackOutput['"]:\s*\{[^}]*?['"]StackName['"]:\s*['"](\w+)['"]"""
    r"""|['"]Fn::ImportValue['"]:\s*['"](\w+):"""
)
REFERENCE = re.compile(r"""['"]Ref['"]:\s*['"](\w+)['"]|['"]Fn::GetAtt['"]:\s*\[\s*['"](\w+)['"]|\$\{(\w+)[.}]""")
READ_ACTIONS = re.compile(r":(Get|List|Describe|Select|Query|BatchGet|Decrypt|Receive)", re.IGNORECASE)


@dataclass(frozen=True)
class Node:
    logical_id: str
    label: str
    kind: str
    group: str


def references(value) -> set[str]:
    """Logical ids a template value refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub)."""
    return {next(part for part in match if part) for match in REFERENCE.findall(repr(value))}


SCOPED_DIGEST = re.compile(rf"(?<=[A-Za-z])[0-9a-f]{{{DIGEST_LENGTH}}}$")


def nodes_of(stack) -> dict[str, Node]:
    """The diagram's nodes: kept resource types, labelled and grouped by their construct path."""
    resources = stack.template["Resources"]
    nodes = {}
    for entry in stack.find_metadata_by_type("aws:cdk:logicalId"):
        logical_id = entry.data
        kind = resources.get(logical_id, {}).get("Type")
        if kind not in KINDS:
            continue
        # A scoped id's digest (stacks.common.names.scoped_id) says nothing to a reader: CurveTable, not CurveTable1a2b3c4d.
        parts = [
            SCOPED_DIGEST.sub("", part) for part in entry.path.split("/")[2:] if part not in ("Resource", "Default")
        ]
        if (
            not parts
            or parts[0].startswith(("AWS679f53", "Custom::", "BucketNotificationsHandler", "LogRetention"))
            or any(part.startswith("framework-") for part in parts)
        ):
            continue  # CDK's own helper functions, the Provider framework's included
        if any(part in LEFT_OUT for part in parts):
            continue
        group = parts[1] if len(parts) > 2 else parts[0]
        nodes[logical_id] = Node(logical_id, " ".join(parts[-2:]) if len(parts) > 2 else parts[-1], kind, group)
    return nodes


def _name_of(body: dict) -> str | None:
    value = body.get("Properties", {})
    for key in NAME_PROPERTIES.get(body["Type"], ()):
        value = value.get(key, {}) if isinstance(value, dict) else {}
    return value if isinstance(value, str) and value else None


def _role_access(resources: dict) -> dict[str, dict[str, set[str]]]:
    """Role -> resource -> the actions its policies allow on it."""
    access: dict[str, dict[str, set[str]]] = {}
    for body in resources.values():
        if body["Type"] != "AWS::IAM::Policy":
            continue
        for statement in body["Properties"]["PolicyDocument"].get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            actions = {actions} if isinstance(actions, str) else set(actions)
            for role in references(body["Properties"].get("Roles", [])):
                for target in references(statement.get("Resource", [])):
                    access.setdefault(role, {}).setdefault(target, set()).update(actions)
    return access


def edges_of(stack, nodes: dict[str, Node]) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, target) -> (arrow, label), drawn the way data flows.

    A solid arrow is a direct reference (a schedule's target, a step's function, an approval rule's model group);
    a dashed arrow is access through an IAM role: from the resource to the reader ("read"), from the writer to
    the resource ("write"). A role a state machine passes to the job it runs is drawn as the job's access.
    """
    resources = stack.template["Resources"]
    access = _role_access(resources)
    names = {name: logical_id for logical_id in nodes if (name := _name_of(resources[logical_id]))}
    edges: dict[tuple[str, str], tuple[str, str]] = {}

    def direct(source: str, target: str, by_name: bool = False) -> None:
        if (nodes[source].kind, nodes[target].kind) in NOT_FLOWS:
            return
        if by_name and (nodes[source].kind, nodes[target].kind) not in FLOWS:
            return  # a name that is also a common word (a table called "summary"), not a reference
        label, reverse = FLOWS.get((nodes[source].kind, nodes[target].kind), ("", False))
        if nodes[source].kind == "AWS::StepFunctions::StateMachine" and nodes[target].kind == "AWS::S3::Bucket":
            return  # bucket names passed as job arguments: the job's own access shows the flow
        edge = (target, source) if reverse else (source, target)
        edges[edge] = ("-->", label)

    def through_role(actor: str, role: str) -> None:
        for target, actions in access.get(role, {}).items():
            if (
                target not in nodes
                or target == actor
                or nodes[target].kind
                not in ("AWS::S3::Bucket", "AWS::RedshiftServerless::Workgroup", "AWS::RedshiftServerless::Namespace")
            ):
                continue
            reads = any(READ_ACTIONS.search(action) for action in actions)
            writes = any(not READ_ACTIONS.search(action) for action in actions)
            if reads and not writes:
                edges.setdefault((target, actor), ("-.->", "read"))
            else:
                edges.setdefault((actor, target), ("-.->", "read, write" if reads else "write"))

    for source in nodes:
        body = resources[source]
        properties = body.get("Properties", {})
        text = repr(properties)
        for match in STACK_OUTPUT.findall(text):
            edges[(source, next(part for part in match if part))] = ("-->", "")
        own_role = references(properties.get("RoleArn", properties.get("Role", "")))
        job = next(
            (
                t
                for t in references(properties)
                if nodes.get(t, Node("", "", "", "")).kind == "AWS::EMRServerless::Application"
            ),
            None,
        )
        for target in references(properties):
            if target in nodes and target != source:
                direct(source, target)
            elif resources.get(target, {}).get("Type") == "AWS::IAM::Role":
                passed = job if job and target not in own_role else source
                through_role(passed, target)
        for name, target in names.items():
            if target != source and re.search(rf"['\"]{re.escape(name)}['\"]", text):
                direct(source, target, by_name=True)
        variables = properties.get("Environment", {}).get("Variables", {})
        for variable_names, (node_id, _, label) in RUNTIME_RESOURCES.items():
            if set(variable_names) <= set(variables) and nodes[source].kind == "AWS::Lambda::Function":
                edges[(source, node_id)] = ("-->", label)
                for (edge_source, other), _ in list(edges.items()):
                    if edge_source == source and other not in nodes and other != node_id:
                        edges[(node_id, other)] = edges.pop((source, other))[0], "Data Capture"
    return edges


def _collapse(nodes: dict[str, Node]) -> dict[str, str]:
    """logical id -> the id it is drawn as: a collapsed kind's nodes share one per group."""
    return {
        logical_id: f"{node.group}{COLLAPSED[node.kind].title().replace(' ', '')}"
        if node.kind in COLLAPSED
        else logical_id
        for logical_id, node in nodes.items()
    }


def mermaid(stack) -> str:
    nodes = nodes_of(stack)
    drawn_as = _collapse(nodes)
    edges = edges_of(stack, nodes)
    lines = ["flowchart LR"]
    for group in sorted({node.group for node in nodes.values()}):
        lines.append(f"  subgraph {group}")
        members = sorted((n for n in nodes.values() if n.group == group), key=lambda n: n.logical_id)
        for kind in sorted({n.kind for n in members if n.kind in COLLAPSED}):
            same = [n for n in members if n.kind == kind]
            names = ", ".join(n.label.split(" ")[-1] for n in same)
            _, opening, closing = KINDS[kind]
            lines.append(
                f'    {drawn_as[same[0].logical_id]}{opening}"{len(same)} {COLLAPSED[kind]}<br/>'
                f'<i>{names}</i>"{closing}'
            )
        for node in (n for n in members if n.kind not in COLLAPSED):
            kind, opening, closing = KINDS[node.kind]
            lines.append(f'    {node.logical_id}{opening}"{node.label}<br/><i>{kind}</i>"{closing}')
        lines.append("  end")
    for node_id, label, _ in RUNTIME_RESOURCES.values():
        if any(node_id in edge for edge in edges):
            lines.append(f'  {node_id}(["{label}"])')
    endpoints = {end for edge in edges for end in edge}
    for other_stack in sorted(
        end
        for end in endpoints
        if end not in nodes and end not in {node_id for node_id, _, _ in RUNTIME_RESOURCES.values()}
    ):
        lines.append(f'  {other_stack}[/"{other_stack}<br/><i>another stack of the kit</i>"/]')
    drawn: dict[tuple[str, str], tuple[str, set[str]]] = {}
    for (source, target), (arrow, label) in edges.items():
        key = (drawn_as.get(source, source), drawn_as.get(target, target))
        if key[0] == key[1]:
            continue
        previous_arrow, labels = drawn.setdefault(key, (arrow, set()))
        drawn[key] = ("-->" if "-->" in (arrow, previous_arrow) else arrow, labels | ({label} - {""}))
    for (source, target), (arrow, labels) in sorted(drawn.items()):
        text = f'|"{", ".join(sorted(labels))}"|' if labels else ""
        lines.append(f"  {source} {arrow}{text} {target}")
    return "\n".join(lines)


def blocks(assembly) -> dict[str, str]:
    """Stack name -> the page block (markers included) holding its diagram."""
    return {
        stack.stack_name: f"<!-- diagram:{stack.stack_name}:begin (make diagrams writes this) -->\n"
        f"```mermaid\n{mermaid(stack)}\n```\n<!-- diagram:{stack.stack_name}:end -->"
        for stack in assembly.stacks
    }


def update_page(text: str, generated: dict[str, str]) -> str:
    """`text` with each of the given diagram blocks replaced by the generated one; a missing marker is an error."""
    for stack_name, block in generated.items():
        pattern = re.compile(rf"<!-- diagram:{stack_name}:begin.*?<!-- diagram:{stack_name}:end -->", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"no <!-- diagram:{stack_name}:begin --> ... :end --> block")
        text = pattern.sub(lambda _, block=block: block, text)
    return text


def main() -> int:
    generated = blocks(synthesize(DIAGRAM_PROFILE, DIAGRAM_CONTEXT))
    for stack_name, block in generated.items():
        page = PAGES[stack_name]
        page.write_text(update_page(page.read_text(), {stack_name: block}))
        print(f"{page.relative_to(PROJECT_ROOT)}: diagram of {stack_name} written from the {DIAGRAM_PROFILE} synth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
