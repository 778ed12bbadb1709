"""`python -m tools.snapshots review`: the change a pull request makes, as the comment CI posts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest

import tools.snapshots as snapshots
from tools.cost.estimate import PriceTable
from tools.cost.report import estimate_profile, load_usage, measured_throughput
from tools.snapshots import (
    REVIEW_MARKER,
    CostChange,
    CostNotCompared,
    StackChange,
    accept,
    cost_changes,
    main,
    normalize,
    review_markdown,
    review_text,
    stack_changes,
)
from tests.conftest import synthesized_kit_app
from tools.synthesis import PROJECT_ROOT, synthesize, templates

# The example comment of docs/ci-review.md is this change: one `kit:` setting, the kind of edit a pull request makes.
CHANGED_SETTING = {"kit:churn_endpoint_instance_type": "ml.m5.large"}


@dataclass
class Reviewed:
    changes: dict[str, list[StackChange]]
    costs: list[CostChange]
    markdown: str
    baseline: dict[str, dict]  # the sandbox templates without the change
    base: Path  # their snapshots, as the base branch would have them
    changed: cdk.cx_api.CloudAssembly  # the sandbox app with the change


@pytest.fixture(scope="module")
def changed_setting_review(tmp_path_factory) -> Reviewed:
    """The sandbox app with CHANGED_SETTING, reviewed against snapshots of the same code without it."""
    base = tmp_path_factory.mktemp("base-snapshots")
    baseline = templates(synthesized_kit_app("sandbox").assembly)  # the run's one sandbox synth (tests/conftest.py)
    accept("sandbox", baseline, base)
    changed = synthesize("sandbox", CHANGED_SETTING)
    current = templates(changed)
    changes = {"sandbox": stack_changes("sandbox", current, base)}
    costs = cost_changes("sandbox", current, base)
    return Reviewed(
        changes, costs, review_markdown(changes, costs, "`.review-base/tests/snapshots`"), baseline, base, changed
    )


def test_a_changed_setting_is_reviewed_as_the_resources_and_lines_it_changes(changed_setting_review):
    changes, markdown = changed_setting_review.changes, changed_setting_review.markdown
    assert [change.label for change in changes["sandbox"]] == ["sandbox/ChurnModelStack"]
    (change,) = changes["sandbox"]
    assert change.state == "changed"
    # A new instance type reaches the deployer's environment in place, and the endpoint's custom resource re-runs
    # (its properties are the endpoint settings: the deployer rolls them out to the running endpoint); nothing is
    # replaced.
    assert [(f.type, f.marks) for f in change.replacements] == [("Custom::ChurnEndpointTeardown", ("re-runs",))]
    assert any(
        re.fullmatch(r"  ~ ChurnEndpointDeployerFunction\w+ \(AWS::Lambda::Function\)", line)
        for line in change.resources
    ), change.resources
    assert '-      "INSTANCE_TYPE": "ml.t2.medium",' in change.unified
    assert '+      "INSTANCE_TYPE": "ml.m5.large",' in change.unified
    assert markdown.startswith(REVIEW_MARKER + "\n### Synth review: 1 stack changed\n")
    assert "- **`sandbox/ChurnModelStack`**: changed" in markdown
    assert '+      "INSTANCE_TYPE": "ml.m5.large",' in markdown
    assert markdown.count("```diff") == 1 and "<details><summary><code>sandbox/ChurnModelStack</code>" in markdown


def test_the_cost_delta_is_the_make_cost_estimate_before_and_after(changed_setting_review):
    costs, markdown = changed_setting_review.costs, changed_setting_review.markdown
    (cost,) = costs
    assert cost.architecture.endswith("(ChurnModelStack)")
    # ml.m5.large costs more an hour than ml.t2.medium (tools/cost/prices.json): the idle endpoint bill rises.
    assert cost.idle[1] > cost.idle[0] and cost.workload[1] > cost.workload[0]
    row = next(line for line in markdown.splitlines() if line.startswith("| `sandbox` | SageMaker"))
    assert f"${cost.idle[0]:,.2f} → ${cost.idle[1]:,.2f} (+${cost.idle[1] - cost.idle[0]:,.2f})" in row


def test_the_docs_example_is_this_change(changed_setting_review):
    """docs/ci-review.md shows what CI posts for CHANGED_SETTING: its summary and diff lines are the real ones."""
    changes, markdown = changed_setting_review.changes, changed_setting_review.markdown
    page = (PROJECT_ROOT / "docs" / "ci-review.md").read_text()
    example = page[page.index(REVIEW_MARKER) :]
    example = example[: example.index("</details>")]
    summary = [line for line in example.splitlines() if line.startswith("  - `")]
    fenced = example[example.index("```diff\n") + len("```diff\n") : example.index("\n```\n")]
    diff_lines = [line for line in fenced.splitlines() if line.startswith(("+ ", "- "))]
    assert summary and diff_lines
    rendered = markdown.splitlines()
    assert [line for line in summary if line not in rendered] == [], (
        "regenerate the docs/ci-review.md example from this test"
    )
    legend = next(line for line in rendered if line.startswith("`+` added"))
    assert legend in example.splitlines()
    assert [line for line in diff_lines if line not in changes["sandbox"][0].unified] == []
    assert "kit:churn_endpoint_instance_type=ml.m5.large" in page


def _change(lines: int) -> StackChange:
    unified = ["--- snapshot/sandbox/S", "+++ synth/sandbox/S"] + [
        f"+ line {index:04d} " + "x" * 60 + "→" * 20 for index in range(lines)
    ]
    return StackChange("sandbox/S", "changed", ["  ~ Bucket (AWS::S3::Bucket)"], unified)


def test_a_long_diff_is_cut_to_fit_one_comment_and_says_so():
    markdown = review_markdown({"sandbox": [_change(2_000)], "production": []}, [], "`base`", limit=20_000)
    assert len(markdown.encode("utf-8")) <= 20_000, "cut by bytes: each → is 3 of them"
    assert "  - `~ Bucket (AWS::S3::Bucket)`" in markdown and "- `production`: no change" in markdown
    shown = sum(1 for line in markdown.splitlines() if line.startswith("+ line "))
    assert 0 < shown < 2_000
    assert f"_{2_000 - shown} diff lines left out to fit one comment" in markdown
    assert markdown.rstrip().endswith("or run `make diff`._")
    assert "left out" not in review_markdown({"sandbox": [_change(10)]}, [], "`base`")


def test_a_diff_containing_backticks_gets_a_longer_fence():
    change = StackChange("sandbox/S", "changed", [], ['+   "Description": "run ```make``` first"'])
    markdown = review_markdown({"sandbox": [change]}, [], "`base`")
    assert "````diff\n" in markdown and "\n````\n" in markdown


def test_no_change_and_cost_lines():
    assert review_markdown({"sandbox": [], "production": []}, [], "`base`").splitlines()[:2] == [
        REVIEW_MARKER,
        "### Synth review: 0 stacks changed",
    ]
    assert "Monthly cost (`make cost`): no change." in review_markdown({"sandbox": [_change(1)]}, [], "`base`")
    cost = CostChange("sandbox", "Churn", (45.0, 40.5), (50.0, 50.0))
    text = review_text({"sandbox": []}, [cost])
    assert "sandbox: no change against the snapshots" in text
    assert "cost sandbox Churn: idle $45.00 → $40.50 (-$4.50), under workload $50.00 → $50.00 (+$0.00)" in text


def test_review_refuses_a_missing_snapshot_directory(tmp_path, capsys):
    assert main(["review", "--markdown", "--against", str(tmp_path / "nowhere")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_normalizing_a_template_does_not_move_its_cost_estimate(changed_setting_review):
    """The review prices snapshots (normalized) against the synth normalized the same way; that is only fair if
    normalizing changes nothing the cost model reads."""
    baseline = changed_setting_review.baseline
    prices, usage, throughput = PriceTable.load(), load_usage("sandbox"), measured_throughput()
    raw = estimate_profile("sandbox", baseline, prices, usage, throughput)
    normalized = estimate_profile(
        "sandbox", {name: normalize(template) for name, template in baseline.items()}, prices, usage, throughput
    )
    assert [(section.idle, section.workload) for section in raw.sections] == [
        (section.idle, section.workload) for section in normalized.sections
    ]


def test_a_cost_that_cannot_be_compared_is_said_so(changed_setting_review, tmp_path):
    baseline, base = changed_setting_review.baseline, changed_setting_review.base
    (tmp_path / "sandbox").mkdir()
    for path in (base / "sandbox").glob("*.json"):
        if path.stem != "RedshiftMlStack":  # a snapshot set from before that stack existed
            (tmp_path / "sandbox" / path.name).write_text(path.read_text())
    with pytest.raises(CostNotCompared, match="sandbox: the cost model cannot price both sides.*RedshiftMlStack"):
        cost_changes("sandbox", baseline, tmp_path)
    markdown = review_markdown({"sandbox": [_change(1)]}, [], "`base`", cost_notes=("sandbox: reason",))
    assert "Monthly cost (`make cost`) not compared: sandbox: reason" in markdown and "no change." not in markdown


def test_the_command_ci_runs_prints_the_comment(changed_setting_review, monkeypatch, capsys):
    """`make review ARGS="--markdown --against DIR"`, with the synthesis replaced by the changed-setting app."""
    base, changed = changed_setting_review.base, changed_setting_review.changed
    monkeypatch.setattr(snapshots, "PROFILES", ("sandbox",))
    monkeypatch.setattr(snapshots, "synthesize", lambda profile: changed)
    assert main(["review", "--markdown", "--against", str(base)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(REVIEW_MARKER) and "- **`sandbox/ChurnModelStack`**: changed" in printed
    assert f"against the snapshots of `{base.resolve()}`:" in printed
    assert main(["review", "--against", str(base)]) == 0
    assert capsys.readouterr().out.startswith("=== sandbox/ChurnModelStack: changed\n")
