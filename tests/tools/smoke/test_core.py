"""The shared pieces: output lookup, bounded waits, and the printed table."""

from __future__ import annotations

import pytest

from tools.smoke.core import FAIL, PASS, SKIP, Run, StackOutputs, StepFailed, StepTimeout, wait_for
from tools.smoke.runner import exit_code, render


def test_outputs_are_found_by_the_name_a_construct_gave_them():
    outputs = StackOutputs(
        "S",
        {
            "MonitorStateMachineArnBE3098F9": "a",
            "AthenaWorkGroupName": "b",
            "RecommenderLifecycleStateMachineArn70D29E3C": "c",
        },
    )
    assert outputs["AthenaWorkGroupName"] == "b"
    assert outputs["LifecycleStateMachineArn"] == "c"
    with pytest.raises(StepFailed, match="has 2 output"):
        outputs["StateMachineArn"]  # two match: the lookup refuses to guess
    with pytest.raises(StepFailed, match="has no output.*named Missing"):
        outputs["Missing"]
    assert outputs.get("Missing") is None


def test_a_wait_that_is_already_done_does_not_sleep(clock):
    assert wait_for(lambda: "done", what="x", timeout=10, interval=5, clock=clock) == "done"
    assert clock.sleeps == []


def test_a_wait_never_sleeps_past_its_timeout(clock):
    with pytest.raises(StepTimeout, match="thing: not done after 100 s"):
        wait_for(lambda: None, what="thing", timeout=100, interval=30, clock=clock)
    assert clock.sleeps == [30, 30, 30, 10]


def test_a_failed_cleanup_is_reported_and_the_others_still_run(clock):
    run = Run("arch", clock)
    run.on_cleanup("first", lambda: "deleted")

    def broken() -> str:
        raise StepFailed("AccessDenied")

    run.on_cleanup("second", broken)
    run.clean_up(keep=False)
    assert [(s.name, s.status, s.detail) for s in run.steps] == [
        ("clean up: second", FAIL, "AccessDenied"),
        ("clean up: first", PASS, "deleted"),
    ]


def test_the_table_lists_each_step_with_its_duration_and_the_cost(clock, prices):
    run = Run("churn_model", clock)
    run.step("start pipeline", lambda: clock.sleep(75) or "abc")
    run.skip("QuickSight subscription", "no subscription")
    run.charge("training: 1 x ml.m5.xlarge", 0.023)
    text = render([run], "us-east-1", prices)
    lines = text.splitlines()
    assert lines[0].split() == ["architecture", "step", "result", "duration", "detail"]
    assert "churn_model   start pipeline           PASS    1 min 15 s  abc" in text
    assert "SKIP    0.0 s       no subscription" in text
    assert "  churn_model    $  0.0230  training: 1 x ml.m5.xlarge" in lines
    assert "  total          $  0.0230" in lines
    assert lines[-1] == "smoke: 1 passed, 0 failed, 1 skipped"
    assert exit_code([run]) == 0
    assert SKIP in text


def test_a_failure_between_steps_is_still_a_failed_line(clients, clock, prices):
    """A stack deployed from an older kit lacks an output the path reads outside a step: that must not pass silently."""
    from tests.tools.smoke.conftest import stack
    from tools.smoke.redshift_ml import STACK, run_redshift_ml
    from tools.smoke.runner import run_smoke

    clients.stub("cloudformation").add_response("describe_stacks", stack(STACK, {"WorkgroupName": "wg"}))

    [run] = run_smoke(clients, "us-east-1", clock=clock, prices=prices, paths={"redshift_ml": run_redshift_ml})

    assert [(s.name, s.status) for s in run.steps] == [("stack outputs", PASS), ("between steps", FAIL)]
    assert "has no output(s) named LifecycleStateMachineArn" in run.steps[1].detail
    assert exit_code([run]) == 1


def test_an_environment_prefixes_the_stacks_the_paths_and_the_notice_check_read(clients, clock, prices):
    """Stacks deployed with -c kit:environment=prod are prod-<Stack>: --environment prod reads those, not the others."""
    from tests.tools.smoke.conftest import stack
    from tools.smoke.redshift_ml import run_redshift_ml
    from tools.smoke.runner import run_smoke

    clients.stub("cloudformation").add_response(
        "describe_stacks", stack("prod-RedshiftMlStack", {}), {"StackName": "prod-RedshiftMlStack"}
    )
    noticed: list[str] = []

    [run] = run_smoke(
        clients,
        "us-east-1",
        clock=clock,
        prices=prices,
        paths={"redshift_ml": run_redshift_ml},
        notices=lambda run, clients, region, stack: noticed.append(stack),
        environment="prod",
    )

    assert noticed == ["prod-RedshiftMlStack"]
    assert [(s.name, s.status) for s in run.steps][0] == ("stack outputs", PASS)
