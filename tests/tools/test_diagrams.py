"""The architecture pages' diagrams are generated from the synthesized app, show each data flow, and render."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tools.diagrams import DIAGRAM_CONTEXT, DIAGRAM_PROFILE, PAGES, blocks, edges_of, mermaid, nodes_of, update_page
from tools.synthesis import PROJECT_ROOT, synthesize

PARSER = PROJECT_ROOT / "tools" / "mermaid" / "parse.mjs"
# npm ci installs Mermaid's parser into node_modules (package.json); another directory can be named for a run.
NODE_MODULES = os.environ.get("MERMAID_NODE_MODULES", str(PROJECT_ROOT / "node_modules"))


@pytest.fixture(scope="module")
def assembly():
    return synthesize(DIAGRAM_PROFILE, DIAGRAM_CONTEXT)


def flow(stack) -> tuple[dict[str, str], dict[tuple[str, str], tuple[str, str]]]:
    nodes = nodes_of(stack)
    return {node.label: logical_id for logical_id, node in nodes.items()}, edges_of(stack, nodes)


def mermaid_errors(diagrams: list[str]) -> str:
    """What Mermaid's own parser says about each diagram that does not parse ('' when all do)."""
    assert shutil.which("node"), "node is not on PATH: run the tests through scripts/kit-env"
    assert (PROJECT_ROOT / NODE_MODULES / "mermaid").is_dir(), (
        f"Mermaid's parser is not installed in {NODE_MODULES}: run make setup (npm ci)"
    )
    result = subprocess.run(
        ["node", str(PARSER), NODE_MODULES],
        input=json.dumps(diagrams),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


def test_each_page_diagram_matches_the_synthesized_app(assembly):
    generated = blocks(assembly)
    assert set(generated) == set(PAGES), "every stack has a page for its diagram, and every page a stack"
    for stack_name, page in PAGES.items():
        text = page.read_text()
        assert update_page(text, {stack_name: generated[stack_name]}) == text, (
            f"{page.relative_to(PROJECT_ROOT)}: the {stack_name} diagram is out of date: run `make diagrams`."
        )


def test_every_docs_diagram_renders():
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").rglob("*.md"))]
    diagrams = [d for page in pages for d in re.findall(r"```mermaid\n(.*?)```", page.read_text(), re.DOTALL)]
    assert len(diagrams) >= 3
    assert mermaid_errors(diagrams) == ""


def test_the_parser_check_catches_a_broken_diagram():
    assert "block 1:" in mermaid_errors(['flowchart LR\n  A -->|"ok"| B', "flowchart LR\n  A --> ]"])


def test_model_quality_shows_capture_to_job_to_results_to_athena_to_quicksight(assembly):
    labels, edges = flow(assembly.get_stack_by_name("ModelQualityStack"))
    job, results = labels["PrCurveJob Application"], labels["Storage ResultsBucket"]
    # The job reads the capture and deletes what it has extracted (quality_delete_extracted_capture, on by default).
    assert edges[(job, labels["Storage CaptureBucket"])] == ("-.->", "read, write")
    assert edges[(labels["Storage GroundTruthBucket"], job)] == ("-.->", "read")
    assert edges[(job, results)][0] == "-.->" and "write" in edges[(job, results)][1]
    assert edges[(results, labels["ResultsCatalog CurveTable"])] == ("-->", "results as tables")
    assert edges[(labels["ResultsCatalog WorkGroup"], labels["Dashboard DataSource"])] == ("-->", "queries")
    assert edges[(labels["Dashboard CurvesDataSet"], labels["Dashboard Dashboard"])] == ("-->", "visuals")
    # The state machine starts the job; it no longer fans out to every bucket it names in the job's arguments.
    machine = labels["DailyRun StateMachine"]
    assert edges[(machine, job)] == ("-->", "runs the daily job")
    assert not [target for source, target in edges if source == machine and "Bucket" in target]


def test_churn_shows_pipeline_to_registry_to_approval_to_deployer_to_endpoint(assembly):
    labels, edges = flow(assembly.get_stack_by_name("ChurnModelStack"))
    registry, rule = labels["TrainingPipeline ModelPackageGroup"], labels["Endpoint ModelApprovedRule"]
    deployer = labels["Endpoint DeployerFunction"]
    assert edges[(labels["TrainingPipeline Pipeline"], registry)] == ("-->", "registers the model")
    assert edges[(registry, rule)] == ("-->", "approval event")
    assert edges[(rule, deployer)] == ("-->", "event")
    assert edges[(deployer, "SageMakerEndpoint")] == ("-->", "deploys the approved model")
    assert edges[("SageMakerEndpoint", "ModelQualityStack")] == ("-->", "Data Capture")
    assert "Notebook NotebookInstance" in labels


@pytest.mark.parametrize("stack_name", ["RedshiftMlStack", "ModelQualityStack", "ChurnModelStack"])
def test_repeated_kinds_are_one_node_and_every_flow_is_labelled(assembly, stack_name):
    diagram = mermaid(assembly.get_stack_by_name(stack_name))
    assert len(re.findall(r"^\s+\w+\{\{", diagram, re.MULTILINE)) <= len(
        re.findall(r"^\s+subgraph", diagram, re.MULTILINE)
    )
    arrows = [line for line in diagram.splitlines() if re.search(r" (-->|-\.->)", line)]
    unlabelled = [line for line in arrows if "|" not in line]
    assert len(unlabelled) <= 2, unlabelled  # a function's bucket name in its environment says no more than that


def test_access_through_a_role_is_dashed_and_drawn_the_way_data_goes(assembly):
    labels, edges = flow(assembly.get_stack_by_name("RedshiftMlStack"))
    # The namespace's default IAM role may read and write models in the bucket: access, not a reference.
    assert edges[(labels["Warehouse Namespace"], labels["ModelBucket"])] == ("-.->", "read, write")
    assert {node.kind for node in nodes_of(assembly.get_stack_by_name("ModelQualityStack")).values()}.isdisjoint(
        {"AWS::IAM::Role", "AWS::KMS::Key", "AWS::Logs::LogGroup"}
    )


def test_a_page_without_the_markers_is_an_error():
    with pytest.raises(ValueError, match="no <!-- diagram:DataStack:begin"):
        update_page("# README\n", {"DataStack": "<!-- diagram:DataStack:begin -->x<!-- diagram:DataStack:end -->"})
