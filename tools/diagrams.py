"""Architecture diagrams generated from the synthesized cloud assembly, as Mermaid in the README.

    python -m tools.diagrams          (make diagrams)  rewrite the README's diagram blocks

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

from tools.synthesis import PROJECT_ROOT, synthesize

DIAGRAM_PROFILE = "production"  # the profile that deploys every component
README = PROJECT_ROOT / "README.md"
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
    "AWS::Glue::Database": ("Glue database", "[(", ")]"),
    "AWS::Athena::WorkGroup": ("Athena workgroup", "[", "]"),
    "AWS::QuickSight::DataSource": ("QuickSight data source", "[", "]"),
    "AWS::QuickSight::Dashboard": ("QuickSight dashboard", "[", "]"),
    "AWS::SageMaker::Pipeline": ("SageMaker pipeline", "[[", "]]"),
    "AWS::SageMaker::ModelPackageGroup": ("model registry", "[(", ")]"),
    "AWS::SageMaker::NotebookInstance": ("notebook", "[", "]"),
    "Custom::RedshiftBootstrap": ("custom resource", "[/", "/]"),
}
LEFT_OUT = ("AccessLogsBucket",)  # every bucket logs to it: an arrow from each would hide the rest
STACK_OUTPUT = re.compile(r"""['"]Fn::GetStackOutput['"]:\s*\{[^}]*?['"]StackName['"]:\s*['"](\w+)['"]""")
REFERENCE = re.compile(r"""['"]Ref['"]:\s*['"](\w+)['"]|['"]Fn::GetAtt['"]:\s*\[\s*['"](\w+)['"]|\$\{(\w+)[.}]""")


@dataclass(frozen=True)
class Node:
    logical_id: str
    label: str
    kind: str
    group: str


def references(value) -> set[str]:
    """Logical ids a template value refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub)."""
    return {next(part for part in match if part) for match in REFERENCE.findall(repr(value))}


def nodes_of(stack) -> dict[str, Node]:
    """The diagram's nodes: kept resource types, labelled and grouped by their construct path."""
    resources = stack.template["Resources"]
    nodes = {}
    for entry in stack.find_metadata_by_type("aws:cdk:logicalId"):
        logical_id = entry.data
        kind = resources.get(logical_id, {}).get("Type")
        if kind not in KINDS:
            continue
        parts = [part for part in entry.path.split("/")[2:] if part not in ("Resource", "Default")]
        if not parts or parts[0].startswith(("AWS679f53", "Custom::", "BucketNotificationsHandler", "LogRetention")):
            continue  # CDK's own helper functions
        if any(part in LEFT_OUT for part in parts):
            continue
        group = parts[1] if len(parts) > 2 else parts[0]
        nodes[logical_id] = Node(logical_id, " ".join(parts[-2:]) if len(parts) > 2 else parts[-1], kind, group)
    return nodes


def edges_of(stack, nodes: dict[str, Node]) -> dict[tuple[str, str], str]:
    """(source, target) -> '-->' for a direct reference, '-.->' for access through the source's IAM role."""
    resources = stack.template["Resources"]
    policies_of_role: dict[str, set[str]] = {}
    for body in resources.values():
        if body["Type"] == "AWS::IAM::Policy":
            for role in references(body["Properties"].get("Roles", [])):
                policies_of_role.setdefault(role, set()).update(references(body["Properties"]["PolicyDocument"]))
    edges: dict[tuple[str, str], str] = {}
    for source in nodes:
        properties = resources[source].get("Properties", {})
        for other_stack in STACK_OUTPUT.findall(repr(properties)):
            edges[(source, other_stack)] = "-->"
        for target in references(properties):
            if target in nodes and target != source:
                edges[(source, target)] = "-->"
            elif resources.get(target, {}).get("Type") == "AWS::IAM::Role":
                for granted in policies_of_role.get(target, set()):
                    if granted in nodes and granted != source:
                        edges.setdefault((source, granted), "-.->")
    return edges


def mermaid(stack) -> str:
    nodes = nodes_of(stack)
    lines = ["flowchart LR"]
    for group in sorted({node.group for node in nodes.values()}):
        lines.append(f"  subgraph {group}")
        for node in sorted((n for n in nodes.values() if n.group == group), key=lambda n: n.logical_id):
            kind, opening, closing = KINDS[node.kind]
            lines.append(f'    {node.logical_id}{opening}"{node.label}<br/><i>{kind}</i>"{closing}')
        lines.append("  end")
    edges = edges_of(stack, nodes)
    for other_stack in sorted({target for _, target in edges if target not in nodes}):
        lines.append(f'  {other_stack}[/"{other_stack}<br/><i>another stack of the kit</i>"/]')
    for (source, target), arrow in sorted(edges.items()):
        lines.append(f"  {source} {arrow} {target}")
    return "\n".join(lines)


def blocks(assembly) -> dict[str, str]:
    """Stack name -> the README block (markers included) holding its diagram."""
    return {stack.stack_name: f"<!-- diagram:{stack.stack_name}:begin (make diagrams writes this) -->\n"
                              f"```mermaid\n{mermaid(stack)}\n```\n<!-- diagram:{stack.stack_name}:end -->"
            for stack in assembly.stacks}


def update_readme(text: str, generated: dict[str, str]) -> str:
    """`text` with every diagram block replaced by the generated one; a missing marker is an error."""
    for stack_name, block in generated.items():
        pattern = re.compile(rf"<!-- diagram:{stack_name}:begin.*?<!-- diagram:{stack_name}:end -->", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"README.md has no <!-- diagram:{stack_name}:begin --> ... :end --> block")
        text = pattern.sub(lambda _: block, text)
    return text


def main() -> int:
    generated = blocks(synthesize(DIAGRAM_PROFILE))
    README.write_text(update_readme(README.read_text(), generated))
    print(f"README.md: diagrams of {', '.join(generated)} written from the {DIAGRAM_PROFILE} synth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
