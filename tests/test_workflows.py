"""The kit's GitHub Actions workflows: linted (actionlint), audited (zizmor, offline), and running what docs/ci-review.md
says they run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.snapshots import REVIEW_MARKER
from tools.synthesis import PROJECT_ROOT

WORKFLOW_DIR = PROJECT_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
REVIEW = WORKFLOW_DIR / "synth-review.yml"
DEPLOY = WORKFLOW_DIR / "sandbox-deploy.yml"
BIN = Path(sys.executable).parent  # requirements-dev.txt pins both linters into the virtual environment

# A workflow with the mistakes the gates exist for: untrusted input in a script, an action pinned by a movable tag,
# and the default (broad) token permissions.
BAD_WORKFLOW = """\
name: bad
on: pull_request
jobs:
  greet:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "actionlint"), "-no-color", *map(str, paths)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def zizmor(*paths: Path) -> list[dict]:
    """zizmor's findings, every persona's, with its online audits off: `--offline` forces offline mode even where a
    GH_TOKEN is set (https://docs.zizmor.sh/usage, "Operating Modes"), so the gate needs no network or token."""
    result = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--format", "json", *map(str, paths)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def steps(path: Path) -> list[dict]:
    return [step for job in load(path)["jobs"].values() for step in job.get("steps", [])]


def run_scripts(path: Path) -> str:
    return "\n".join(step["run"] for step in steps(path) if "run" in step)


def test_the_workflows_exist():
    assert {DEPLOY, REVIEW} <= set(WORKFLOWS)


def test_actionlint_finds_nothing():
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing():
    findings = zizmor(WORKFLOW_DIR)
    assert findings == [], [(finding["ident"], finding["desc"]) for finding in findings]


def test_the_gates_catch_the_mistakes_they_exist_for(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(BAD_WORKFLOW)
    lint = actionlint(bad)
    assert lint.returncode == 1 and "github.event.pull_request.title" in lint.stdout, lint.stdout + lint.stderr
    assert {"template-injection", "unpinned-uses", "excessive-permissions"} <= {
        finding["ident"] for finding in zizmor(bad)
    }


def test_every_action_is_pinned_by_commit_and_says_its_release():
    for path in WORKFLOWS:
        uses = re.findall(r"uses: (\S+)(.*)", path.read_text())
        assert uses, path.name
        for action, comment in uses:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{path.name}: {action} is not a commit SHA"
            assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{path.name}: {action} lacks its `# vX.Y.Z` tag"


def test_every_job_has_its_own_least_permissions_and_the_workflow_none():
    for path in WORKFLOWS:
        workflow = load(path)
        assert workflow["permissions"] == {}, path.name
        for name, job in workflow["jobs"].items():
            assert isinstance(job.get("permissions"), dict) and job["permissions"], f"{path.name}: {name}"
            assert all(level in ("read", "write") for level in job["permissions"].values())
    review_jobs = load(REVIEW)["jobs"]
    assert review_jobs["review"]["permissions"] == {"contents": "read"}, "the job running PR code must not write"
    assert review_jobs["comment"]["permissions"] == {"pull-requests": "write"}
    assert "steps" in review_jobs["comment"] and not any("run" in step for step in review_jobs["comment"]["steps"])


def test_no_expression_is_interpolated_into_a_script():
    for path in WORKFLOWS:
        for step in steps(path):
            assert "${{" not in step.get("run", ""), f"{path.name}: pass it through env: {step['run']}"
            assert "${{" not in step.get("with", {}).get("script", ""), f"{path.name}: pass it through env:"


def test_the_environment_cache_is_keyed_on_every_file_the_makefile_sets_up_from():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    pins = set()
    for stamp in ("$(APP_STAMP)", "$(PYTHON_STAMP)", "$(NODE_STAMP)"):
        prerequisites = re.search(rf"^{re.escape(stamp)}: (.*)$", makefile, re.MULTILINE).group(1).split()
        pins |= {name for name in prerequisites if not name.startswith("$(")}
    for path in WORKFLOWS:
        (cache,) = [step for step in steps(path) if step.get("uses", "").startswith("actions/cache@")]
        keyed = set(re.findall(r"'([^']+)'", re.search(r"hashFiles\((.*?)\)", cache["with"]["key"]).group(1)))
        assert keyed == pins, f"{path.name}: the cache key must hash exactly {sorted(pins)}"
        assert cache["with"]["path"].split() == [".venv", "node_modules"]


def test_the_comment_is_found_again_by_the_marker_the_review_writes():
    (script,) = [step["with"]["script"] for step in steps(REVIEW) if "script" in step.get("with", {})]
    assert f'const marker = "{REVIEW_MARKER}";' in script
    assert "updateComment" in script and "createComment" in script


def test_the_base_snapshots_come_from_the_base_commit_without_credentials():
    checkouts = [step for step in steps(REVIEW) if step.get("uses", "").startswith("actions/checkout@")]
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)
    (base,) = [step for step in checkouts if "ref" in step["with"] and "repository" not in step["with"]]
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert f"--against {base['with']['path']}/tests/snapshots" in run_scripts(REVIEW)


def test_the_pipeline_schema_check_runs_in_the_review_at_a_pinned_commit():
    """GitHub sets CI=true, which makes a missing schema a failure: the workflow brings the published one."""
    (schema,) = [
        step for step in steps(REVIEW) if step.get("with", {}).get("repository", "").startswith("aws-sagemaker-mlops/")
    ]
    assert re.fullmatch(r"[0-9a-f]{40}", schema["with"]["ref"])
    (test,) = [step for step in steps(REVIEW) if step.get("run") == "make test"]
    assert test["env"]["KIT_PIPELINE_SCHEMA"].startswith(schema["with"]["path"] + "/")


def test_the_sandbox_deploy_is_manual_uses_oidc_and_runs_the_smoke_test():
    workflow = load(DEPLOY)
    assert set(workflow["on"]) == {"workflow_dispatch"}
    (job,) = workflow["jobs"].values()
    assert job["permissions"]["id-token"] == "write"
    assert job["if"] == "${{ vars.KIT_SANDBOX_ROLE_ARN != '' }}", "off until a role is configured"
    (credentials,) = [
        step for step in job["steps"] if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert set(credentials["with"]) >= {"role-to-assume", "aws-region"}
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"]), "no long-lived keys"
    scripts = run_scripts(DEPLOY)
    assert scripts.index("cdk deploy --all") < scripts.index("make smoke")


def _docs_ci_commands() -> list[str]:
    """The commands docs/ci-review.md lists first, the ones the workflows run."""
    page = (PROJECT_ROOT / "docs" / "ci-review.md").read_text()
    block = re.search(r"```bash\n(.*?)```", page, re.DOTALL).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def _commands(text: str) -> set[str]:
    return set(re.findall(r"\bmake [a-z-]+|\bcdk deploy --all", text))


@pytest.mark.parametrize("workflow", [REVIEW, DEPLOY], ids=lambda path: path.stem)
def test_the_workflows_run_the_commands_the_docs_name(workflow):
    named = _commands("\n".join(_docs_ci_commands()))
    scripts = run_scripts(workflow)
    ran = _commands(scripts)
    assert ran and ran <= named, f"{workflow.name} runs {sorted(ran - named)}, which docs/ci-review.md omits"
    if workflow == REVIEW:
        assert ran == named - {"make smoke", "cdk deploy --all"}
        review_line = next(line for line in _docs_ci_commands() if line.startswith("make review"))
        for option in re.findall(r"--[a-z]+", review_line):
            assert option in scripts


def test_every_make_command_the_workflows_run_is_a_makefile_target():
    targets = set(re.findall(r"^([a-z-]+):", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))
    for path in WORKFLOWS:
        ran = {command.removeprefix("make ") for command in _commands(run_scripts(path)) if command.startswith("make ")}
        assert ran and ran <= targets, f"{path.name}: no Makefile target {sorted(ran - targets)}"


def test_the_smoke_choices_are_the_architectures_make_smoke_knows():
    from tools.smoke.runner import ARCHITECTURES

    options = load(DEPLOY)["on"]["workflow_dispatch"]["inputs"]["smoke"]["options"]
    assert set(options) - {"all", "none"} == set(ARCHITECTURES)
    assert "--only $SMOKE" in run_scripts(DEPLOY)


def test_the_review_gates_on_replacements_after_writing_the_comment():
    """`--fail-on-replace` fails the check, but the comment that says what is replaced is written and posted first."""
    (review,) = [step for step in steps(REVIEW) if "make review" in step.get("run", "")]
    script = review["run"]
    assert "--fail-on-replace" in script and "|| status=$?" in script
    assert script.index('>> "$GITHUB_OUTPUT"') < script.index('exit "$status"')
