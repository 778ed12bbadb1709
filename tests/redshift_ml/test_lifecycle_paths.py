"""The synthesized lifecycle state machine, executed along each designed path with scripted task results
(tests/asl_interpreter.py): what it visits, how it ends and what its notices say."""

import pytest

from tests.asl_interpreter import Failure, definition_from_template, run

MODEL = {
    "model_name": "m_v2",
    "function_name": "predict_m_v2",
    "statement_id": "s-1",
    "started_at": 1_700_000_000,
    "max_cells": 9000,
}
EXPORTING, EXPORTED = {"status": "STARTED"}, {"status": "FINISHED"}
SUBMITTED = {"statement_id": "batch-1", "serving": "m_v2"}
PROMOTED = ["Promote", "WaitForPromotion", "CheckPromotion", "PromotionFinished"]
TRAINING, READY = {"state": "TRAINING", "model_state": "Training"}, {"state": "READY", "model_state": "Model is Ready"}


def evaluation(candidate, serving=None):
    result = {"k": 10, "candidate": {"model_name": "m_v2", "precision_at_k": candidate}}
    if serving is not None:
        result["serving"] = {"model_name": "m_v1", "precision_at_k": serving}
    return result


@pytest.fixture(scope="module")
def definition(template):
    template, _ = template
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    return definition_from_template(machine)


def trained(**more):
    """Scripts up to a READY candidate: one export poll still running, one training poll still training."""
    return {
        "StartTraining": [MODEL],
        "CheckExport": [EXPORTING, EXPORTED],
        "CheckTraining": [TRAINING, READY],
        **more,
    }


def messages(calls):
    return {name: task_input.get("Message") for name, task_input in calls if name.startswith("Notify")}


POLLS = ["StartTraining", "WaitForExport", "CheckExport", "ExportFinished", "WaitForExport", "CheckExport"]
POLLS += ["ExportFinished", "WaitForTraining", "CheckTraining", "TrainingState", "WaitForTraining", "CheckTraining"]
POLLS += ["TrainingState", "Evaluate", "AtLeastAsGood"]


@pytest.mark.parametrize("serving", [None, 0.2, 0.25])
def test_a_candidate_at_least_as_good_is_promoted_then_old_versions_cleaned_up(definition, serving):
    calls = []
    status, output, visited = run(
        definition,
        trained(
            Evaluate=[evaluation(0.25, serving)],
            Promote=[SUBMITTED],
            CheckPromotion=[EXPORTING, EXPORTED],
            Cleanup=[{"dropped": []}],
        ),
        {"trigger": "schedule"},
        calls=calls,
    )
    assert status == "SUCCEEDED"
    # The promotion's transaction is polled until it finishes, like the export.
    assert visited == POLLS + PROMOTED + PROMOTED[1:] + ["Cleanup", "Done"]
    assert output["promotion"] == SUBMITTED and output["cleanup"] == {"dropped": []}
    assert dict(calls)["Promote"] == {"action": "promote", "model_name": "m_v2", "function_name": "predict_m_v2"}
    assert dict(calls)["CheckTraining"]["started_at"] == MODEL["started_at"]
    assert dict(calls)["CheckPromotion"] == {
        "action": "check_statement",
        "statement_id": "batch-1",
        "model_name": "m_v2",
    }


def test_a_failed_promotion_transaction_notifies_that_the_serving_model_is_unchanged(definition):
    """The promotion is one transaction: when its statement fails, nothing of it stays and Cleanup never runs."""
    calls = []
    status, _, visited = run(
        definition,
        trained(
            Evaluate=[evaluation(0.3, 0.2)],
            Promote=[SUBMITTED],
            CheckPromotion=[Failure("StatementFailed", "Statement batch-1 failed: disk full")],
            NotifyFailure=[{}],
        ),
        calls=calls,
    )
    assert status == "FAILED"
    assert visited[-5:] == ["Promote", "WaitForPromotion", "CheckPromotion", "NotifyFailure", "RefreshFailed"]
    assert "unchanged" in messages(calls)["NotifyFailure"] and "disk full" in messages(calls)["NotifyFailure"]


def test_a_worse_candidate_is_rejected_with_a_notice_and_cleanup_still_runs(definition):
    calls = []
    status, output, visited = run(
        definition,
        trained(
            Evaluate=[evaluation(0.1, 0.2)],
            Reject=[{"rejected": "m_v2"}],
            NotifyRejected=[{}],
            Cleanup=[{"dropped": ["m_v0"]}],
        ),
        calls=calls,
    )
    assert status == "SUCCEEDED"
    assert visited == POLLS + ["Reject", "NotifyRejected", "Cleanup", "Done"]
    assert "promotion" not in output
    assert dict(calls)["NotifyRejected"]["Message"] == evaluation(0.1, 0.2)


def test_a_failed_training_is_described_notified_and_ends_failed(definition):
    calls = []
    status, output, visited = run(
        definition,
        {
            "StartTraining": [MODEL],
            "CheckExport": [EXPORTED],
            "CheckTraining": [{"state": "FAILED", "model_state": "Failed"}],
            "DescribeFailure": [{"model_name": "m_v2", "reason": "raw text from SHOW MODEL"}],
            "NotifyTrainingFailed": [{}],
        },
        calls=calls,
    )
    assert status == "FAILED" and "serving model is unchanged" in output["Cause"]
    assert visited[-4:] == ["TrainingState", "DescribeFailure", "NotifyTrainingFailed", "TrainingFailed"]
    assert messages(calls)["NotifyTrainingFailed"] == "Model m_v2 failed: raw text from SHOW MODEL"


def test_a_failed_export_notifies_that_the_serving_model_is_unchanged(definition):
    calls = []
    status, output, visited = run(
        definition,
        {
            "StartTraining": [MODEL],
            "CheckExport": [Failure("StatementError", "CREATE MODEL failed: permission denied for schema")],
            "NotifyFailure": [{}],
        },
        calls=calls,
    )
    assert status == "FAILED"
    assert visited == ["StartTraining", "WaitForExport", "CheckExport", "NotifyFailure", "RefreshFailed"]
    message = messages(calls)["NotifyFailure"]
    assert "unchanged" in message and "permission denied for schema" in message and "StatementError" in message


def test_a_transient_lambda_error_is_retried_not_notified(definition):
    status, _, visited = run(
        definition,
        trained(
            Evaluate=[Failure("Lambda.ServiceException"), evaluation(0.3)],
            Promote=[SUBMITTED],
            CheckPromotion=[EXPORTED],
            Cleanup=[{"dropped": []}],
        ),
    )
    assert status == "SUCCEEDED" and "NotifyFailure" not in visited


def test_cleanup_failing_after_a_promotion_says_the_new_model_serves(definition):
    calls = []
    status, output, visited = run(
        definition,
        trained(
            Evaluate=[evaluation(0.3, 0.2)],
            Promote=[SUBMITTED],
            CheckPromotion=[EXPORTED],
            Cleanup=[Failure("StatementError", "DROP MODEL failed")],
            NotifyCleanupFailed=[{}],
        ),
        calls=calls,
    )
    assert status == "FAILED" and "new model serves" in output["Cause"]
    assert visited[-4:] == ["Cleanup", "CleanupFailedAfter", "NotifyCleanupFailed", "CleanupFailed"]
    message = messages(calls)["NotifyCleanupFailed"]
    assert "m_v2 was promoted" in message and "DROP MODEL failed" in message


def test_cleanup_failing_after_a_rejection_says_the_serving_model_is_unchanged(definition):
    calls = []
    status, _, visited = run(
        definition,
        trained(
            Evaluate=[evaluation(0.1, 0.2)],
            Reject=[{"rejected": "m_v2"}],
            NotifyRejected=[{}],
            Cleanup=[Failure("StatementError", "DROP MODEL failed")],
            NotifyFailure=[{}],
        ),
        calls=calls,
    )
    assert status == "FAILED"
    assert visited[-4:] == ["Cleanup", "CleanupFailedAfter", "NotifyFailure", "RefreshFailed"]
    assert "unchanged" in messages(calls)["NotifyFailure"]


@pytest.mark.parametrize("notice", ["NotifyFailure", "NotifyTrainingFailed", "NotifyRejected", "NotifyCleanupFailed"])
def test_a_notice_that_cannot_be_published_ends_the_execution_failed(definition, notice):
    scripts = {
        "NotifyFailure": {"StartTraining": [Failure("StatementError", "x")]},
        "NotifyTrainingFailed": {
            "StartTraining": [MODEL],
            "CheckExport": [EXPORTED],
            "CheckTraining": [{"state": "FAILED", "model_state": "Failed"}],
            "DescribeFailure": [{"model_name": "m_v2", "reason": "r"}],
        },
        "NotifyRejected": trained(Evaluate=[evaluation(0.1, 0.2)], Reject=[{"rejected": "m_v2"}]),
        "NotifyCleanupFailed": trained(
            Evaluate=[evaluation(0.3)],
            Promote=[SUBMITTED],
            CheckPromotion=[EXPORTED],
            Cleanup=[Failure("StatementError", "x")],
        ),
    }[notice]
    status, output, visited = run(definition, {**scripts, notice: [Failure("SNS.KMSAccessDeniedException", "no key")]})
    assert (status, output["Error"]) == ("FAILED", "NotificationFailed")
    assert visited[-2:] == [notice, "NotificationFailed"]
