"""The README's diagrams are generated from the synthesized app and must match it."""

from __future__ import annotations

import pytest

from tools.diagrams import DIAGRAM_PROFILE, README, blocks, edges_of, mermaid, nodes_of, update_readme


@pytest.mark.parametrize("kit_app", [DIAGRAM_PROFILE], indirect=True)
def test_readme_diagrams_match_the_synthesized_app(kit_app):
    text = README.read_text()
    assert update_readme(text, blocks(kit_app.assembly)) == text, (
        "README.md's architecture diagrams are out of date: run `make diagrams` and commit README.md.")


@pytest.mark.parametrize("kit_app", [DIAGRAM_PROFILE], indirect=True)
def test_diagram_shows_the_flow_not_the_plumbing(kit_app):
    quality = kit_app.assembly.get_stack_by_name("ModelQualityStack")
    nodes = nodes_of(quality)
    by_label = {node.label: logical_id for logical_id, node in nodes.items()}
    edges = edges_of(quality, nodes)
    assert edges[(by_label["DailyRun DailySchedule"], by_label["DailyRun StateMachine"])] == "-->"
    assert edges[(by_label["DailyRun StateMachine"], by_label["PrCurveJob Application"])] == "-->"
    assert {node.kind for node in nodes.values()}.isdisjoint({"AWS::IAM::Role", "AWS::KMS::Key", "AWS::Logs::LogGroup"})
    assert not any("AccessLogs" in node.label for node in nodes.values())
    churn = kit_app.assembly.get_stack_by_name("ChurnModelStack")
    churn_nodes = nodes_of(churn)
    deployer = next(logical_id for logical_id, node in churn_nodes.items() if node.label == "Endpoint DeployerFunction")
    assert edges_of(churn, churn_nodes)[(deployer, "ModelQualityStack")] == "-->"  # Data Capture goes there
    assert 'ModelQualityStack[/"ModelQualityStack' in mermaid(churn)


@pytest.mark.parametrize("kit_app", [DIAGRAM_PROFILE], indirect=True)
def test_access_through_a_role_is_dashed(kit_app):
    redshift = kit_app.assembly.get_stack_by_name("RedshiftMlStack")
    nodes = nodes_of(redshift)
    by_label = {node.label: logical_id for logical_id, node in nodes.items()}
    # The namespace's default IAM role may write models to the bucket: access, not a reference.
    assert edges_of(redshift, nodes)[(by_label["Warehouse Namespace"], by_label["ModelBucket"])] == "-.->"


def test_a_readme_without_the_markers_is_an_error():
    with pytest.raises(ValueError, match="no <!-- diagram:DataStack:begin"):
        update_readme("# README\n", {"DataStack": "<!-- diagram:DataStack:begin -->x<!-- diagram:DataStack:end -->"})
