"""Failures after the deployer's call returned send a notice (issue 28): an update SageMaker rolled back, and a
package kept for deployment that left Approved before the endpoint was free again."""

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from tests.lambdas.churn_endpoint.test_deployer import (
    ENDPOINT,
    IN_SERVICE,
    SETTINGS,
    UpdateRecorder,
    aws,
    deployer,
    register,
    set_status,
)

__all__ = ["aws"]  # the fixture, imported for pytest
TOPIC = "arn:aws:sns:us-east-1:123456789012:churn-notices"


class Updating(UpdateRecorder):
    def describe_endpoint(self, **request):
        return {**self._client.describe_endpoint(**request), "EndpointStatus": "Updating"}


def _queue_second_version(sagemaker, autoscaling):
    """v1 serves; v2 is approved while an update runs, so it is kept for the next IN_SERVICE."""
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    second = register(sagemaker)
    busy = Updating(sagemaker._client)
    assert deployer.dispatch(second, SETTINGS, busy, autoscaling)["action"] == "queued"
    return second


def test_a_queued_package_that_is_rejected_is_dropped_with_a_notice_and_never_deployed(aws):
    sagemaker, autoscaling = aws
    second = _queue_second_version(sagemaker, autoscaling)

    result = deployer.dispatch(set_status(sagemaker, second, "Rejected"), SETTINGS, sagemaker, autoscaling)

    assert result["action"] == "dropped"
    assert (
        "version 2" in result["notice"]
        and "Rejected" in result["notice"]
        and "will not be deployed" in result["notice"]
    )
    assert f"{ENDPOINT}-v1" in result["notice"]  # what keeps serving
    deployer.dispatch(IN_SERVICE, SETTINGS, sagemaker, autoscaling)
    assert sagemaker.updates == []  # the rejected version never goes live


def test_a_queued_package_rejected_before_its_event_arrives_is_not_deployed_on_in_service(aws):
    """Events can arrive late: the IN_SERVICE handler reads the approval as it is now."""
    sagemaker, autoscaling = aws
    second = _queue_second_version(sagemaker, autoscaling)
    sagemaker.update_model_package(ModelPackageArn=second["detail"]["ModelPackageArn"], ModelApprovalStatus="Rejected")

    result = deployer.dispatch(IN_SERVICE, SETTINGS, sagemaker, autoscaling)

    assert result["action"] == "dropped" and "Rejected" in result["notice"]
    assert sagemaker.updates == []
    assert deployer.dispatch(IN_SERVICE, SETTINGS, sagemaker, autoscaling)["action"] == "scaling"  # forgotten


def test_rejecting_a_package_that_was_not_queued_sends_nothing(aws):
    sagemaker, autoscaling = aws
    first = register(sagemaker)
    deployer.dispatch(first, SETTINGS, sagemaker, autoscaling)
    result = deployer.dispatch(set_status(sagemaker, first, "Rejected"), SETTINGS, sagemaker, autoscaling)
    assert result["action"] == "ignored" and "notice" not in result


class RolledBack(UpdateRecorder):
    """SageMaker's automatic rollback: in service again, on the config it served before, with a reason."""

    def describe_endpoint(self, **request):
        return {**self._client.describe_endpoint(**request), "FailureReason": "Alarm churn-endpoint-errors fired"}


def test_an_update_that_sagemaker_rolled_back_sends_a_notice_on_in_service(aws):
    sagemaker, autoscaling = aws
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    assert deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)["action"] == "updated"

    result = deployer.dispatch(IN_SERVICE, SETTINGS, RolledBack(sagemaker._client), autoscaling)

    assert "rolled back" in result["notice"]
    assert f"{ENDPOINT}-v2" in result["notice"] and f"serves {ENDPOINT}-v1" in result["notice"]
    assert "Alarm churn-endpoint-errors fired" in result["notice"]
    assert result["action"] == "scaling"  # the rest of the IN_SERVICE work still happens
    # Reported once: the next IN_SERVICE has nothing to say.
    assert "notice" not in deployer.dispatch(IN_SERVICE, SETTINGS, sagemaker._client, autoscaling)


def test_an_update_that_went_live_sends_nothing(aws):
    sagemaker, autoscaling = aws
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    result = deployer.dispatch(IN_SERVICE, SETTINGS, sagemaker, autoscaling)  # the recorder serves v2
    assert "notice" not in result


def test_a_notice_is_published_to_the_topic_and_other_results_publish_nothing(aws):
    """The request is checked against the SNS service model by botocore's Stubber; an unexpected call fails."""
    sagemaker, autoscaling = aws
    settings = deployer.Settings(**{**SETTINGS.__dict__, "topic_arn": TOPIC})
    sns = boto3.client("sns", region_name="us-east-1")
    with Stubber(sns) as stub:
        deployer.dispatch(register(sagemaker), settings, sagemaker, autoscaling, sns)
        second = register(sagemaker)
        busy = Updating(sagemaker._client)
        assert deployer.dispatch(second, settings, busy, autoscaling, sns)["action"] == "queued"
        stub.add_response(
            "publish",
            {"MessageId": "m-1"},
            {"TopicArn": TOPIC, "Subject": f"Churn endpoint {ENDPOINT}: deployment notice", "Message": ANY},
        )
        result = deployer.dispatch(set_status(sagemaker, second, "Rejected"), settings, sagemaker, autoscaling, sns)
        stub.assert_no_pending_responses()
    assert result["action"] == "dropped"


def test_a_notice_that_cannot_be_sent_fails_the_event_and_its_retry_sends_it(aws):
    """The notice is sent before the deployer forgets what prompted it: a failed Publish leaves the rollback to be
    reported by the asynchronous retry instead of losing it."""
    sagemaker, autoscaling = aws
    settings = deployer.Settings(**{**SETTINGS.__dict__, "topic_arn": TOPIC})
    deployer.dispatch(register(sagemaker), settings, sagemaker, autoscaling)
    deployer.dispatch(register(sagemaker), settings, sagemaker, autoscaling)
    rolled_back = RolledBack(sagemaker._client)
    sns = boto3.client("sns", region_name="us-east-1")
    with Stubber(sns) as stub:
        stub.add_client_error("publish", "AuthorizationError", "not authorized to perform: SNS:Publish")
        with pytest.raises(ClientError, match="AuthorizationError"):
            deployer.dispatch(IN_SERVICE, settings, rolled_back, autoscaling, sns)
        stub.add_response("publish", {"MessageId": "m-2"}, {"TopicArn": TOPIC, "Subject": ANY, "Message": ANY})
        assert "rolled back" in deployer.dispatch(IN_SERVICE, settings, rolled_back, autoscaling, sns)["notice"]
        stub.assert_no_pending_responses()
