"""Teardown on recorded SageMaker and Application Auto Scaling answers (botocore Stubber: every request is checked
against the service model, and an unexpected call fails the test). Issue 29: teardown returned while DeleteEndpoint
was still running (the role and key went next), called DeleteEndpoint on a Creating or Updating endpoint (refused),
and deregistered scaling only when today's settings scale, so a target registered under earlier settings stayed."""

from datetime import datetime, timezone

import pytest

from tests.lambdas.stubbed import stubbed_clients

from tests.lambdas.churn_endpoint.test_deployer import ENV, deployer, stack_event

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
# Today's settings do not scale (maximum = count); an earlier deployment did.
FIXED = deployer.Settings.from_env({**ENV, "MAX_INSTANCES": "1", "DELETE_MODEL_PACKAGES": "false"})
NOT_FOUND = 'Could not find endpoint "churn-endpoint".'
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@pytest.fixture
def stubbed():
    with stubbed_clients("sagemaker", "application-autoscaling") as clients:
        yield clients


def endpoint(status):
    return {
        "EndpointName": "churn-endpoint",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-endpoint",
        "EndpointConfigName": "churn-endpoint-v2",
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }


def target(resource_id, dimension=DIMENSION):
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
        "MinCapacity": 1,
        "MaxCapacity": 3,
        "RoleARN": "arn:aws:iam::123456789012:role/scaling",
        "CreationTime": NOW,
    }


def no_targets(scaling):
    scaling.add_response("describe_scalable_targets", {"ScalableTargets": []}, {"ServiceNamespace": "sagemaker"})


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"])
def test_a_busy_endpoint_is_waited_out_not_deleted_and_the_stack_event_is_not_complete(stubbed, status):
    sagemaker, autoscaling, sm, _ = stubbed
    sm.add_response("describe_endpoint", endpoint(status), {"EndpointName": "churn-endpoint"})
    answer = deployer.dispatch(stack_event("Delete"), FIXED, sagemaker, autoscaling)
    assert answer == {"PhysicalResourceId": "churn-endpoint-teardown", "IsComplete": False}
    sm.add_response("describe_endpoint", endpoint(status), {"EndpointName": "churn-endpoint"})
    assert deployer.dispatch({"kit-action": "teardown"}, FIXED, sagemaker, autoscaling) == {
        "action": "waiting",
        "reason": f"endpoint churn-endpoint is {status}",
    }


@pytest.mark.parametrize("status", ["InService", "OutOfService", "Failed", "UpdateRollbackFailed"])
def test_deleting_the_endpoint_is_not_complete_until_describe_no_longer_finds_it(stubbed, status):
    sagemaker, autoscaling, sm, scaling = stubbed
    sm.add_response("describe_endpoint", endpoint(status), {"EndpointName": "churn-endpoint"})
    no_targets(scaling)
    sm.add_response("delete_endpoint", {}, {"EndpointName": "churn-endpoint"})
    assert deployer.dispatch(stack_event("Delete"), FIXED, sagemaker, autoscaling)["IsComplete"] is False
    # isComplete polls: still Deleting (its configs and models must stay), then gone.
    sm.add_response("describe_endpoint", endpoint("Deleting"), {"EndpointName": "churn-endpoint"})
    assert deployer.dispatch(stack_event("Delete"), FIXED, sagemaker, autoscaling)["IsComplete"] is False
    sm.add_client_error(
        "describe_endpoint", "ValidationException", NOT_FOUND, expected_params={"EndpointName": "churn-endpoint"}
    )
    no_targets(scaling)
    sm.add_response("list_endpoint_configs", {"EndpointConfigs": []}, {"NameContains": "churn-endpoint-v"})
    sm.add_response("list_models", {"Models": []}, {"NameContains": "churn-endpoint-v"})
    assert deployer.dispatch(stack_event("Delete"), FIXED, sagemaker, autoscaling)["IsComplete"] is True


def test_every_target_of_the_endpoints_variants_is_deregistered_whatever_the_settings_say(stubbed):
    sagemaker, autoscaling, sm, scaling = stubbed
    sm.add_response("describe_endpoint", endpoint("InService"), {"EndpointName": "churn-endpoint"})
    scaling.add_response(
        "describe_scalable_targets",
        {
            "ScalableTargets": [
                target("endpoint/churn-endpoint/variant/AllTraffic"),
                target("endpoint/other/variant/A"),
            ],
            "NextToken": "page-2",
        },
        {"ServiceNamespace": "sagemaker"},
    )
    scaling.add_response(
        "describe_scalable_targets",
        {
            "ScalableTargets": [
                target("endpoint/churn-endpoint/variant/Canary"),
                target("endpoint/churn-endpoint-2/variant/A"),
            ]
        },
        {"ServiceNamespace": "sagemaker", "NextToken": "page-2"},
    )
    for variant in ("AllTraffic", "Canary"):
        scaling.add_response(
            "deregister_scalable_target",
            {},
            {
                "ServiceNamespace": "sagemaker",
                "ResourceId": f"endpoint/churn-endpoint/variant/{variant}",
                "ScalableDimension": DIMENSION,
            },
        )
    sm.add_response("delete_endpoint", {}, {"EndpointName": "churn-endpoint"})
    answer = deployer.dispatch({"kit-action": "teardown"}, FIXED, sagemaker, autoscaling)
    assert answer == {
        "action": "deleting",
        "endpoint": ["churn-endpoint"],
        "scalable_targets": [
            f"endpoint/churn-endpoint/variant/AllTraffic {DIMENSION}",
            f"endpoint/churn-endpoint/variant/Canary {DIMENSION}",
        ],
    }


def test_a_target_that_is_already_gone_is_what_teardown_wants(stubbed):
    sagemaker, autoscaling, sm, scaling = stubbed
    sm.add_client_error(
        "describe_endpoint", "ValidationException", NOT_FOUND, expected_params={"EndpointName": "churn-endpoint"}
    )
    scaling.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": [target("endpoint/churn-endpoint/variant/AllTraffic")]},
        {"ServiceNamespace": "sagemaker"},
    )
    scaling.add_client_error("deregister_scalable_target", "ObjectNotFoundException", "No scalable target found")
    sm.add_response("list_endpoint_configs", {"EndpointConfigs": []}, {"NameContains": "churn-endpoint-v"})
    sm.add_response("list_models", {"Models": []}, {"NameContains": "churn-endpoint-v"})
    answer = deployer.dispatch({"kit-action": "teardown"}, FIXED, sagemaker, autoscaling)
    assert answer["action"] == "deleted"


def test_a_refused_deregistration_fails_the_teardown_with_its_reason(stubbed):
    sagemaker, autoscaling, sm, scaling = stubbed
    sm.add_response("describe_endpoint", endpoint("InService"), {"EndpointName": "churn-endpoint"})
    scaling.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": [target("endpoint/churn-endpoint/variant/AllTraffic")]},
        {"ServiceNamespace": "sagemaker"},
    )
    scaling.add_client_error("deregister_scalable_target", "AccessDeniedException", "not authorized")
    with pytest.raises(autoscaling.exceptions.ClientError, match="not authorized"):
        deployer.dispatch(stack_event("Delete"), FIXED, sagemaker, autoscaling)


def test_create_and_update_without_an_endpoint_complete_at_once_and_change_nothing(stubbed):
    """The settings go to the running endpoint; without one there is nothing to change (the next approval creates
    it with them). The framework's isComplete call carries onEvent's Data and makes no call at all."""
    sagemaker, autoscaling, stub, _ = stubbed
    for request in ("Create", "Update"):
        stub.add_client_error("describe_endpoint", "ValidationException", "Could not find endpoint")
        answer = deployer.dispatch(stack_event(request), FIXED, sagemaker, autoscaling)
        assert answer["IsComplete"] is True and answer["Data"] == {"SettingsAction": "ignored"}
        assert deployer.dispatch({**stack_event(request), **answer}, FIXED, sagemaker, autoscaling)["IsComplete"]


def test_an_unknown_kit_action_is_refused_and_changes_nothing(stubbed):
    sagemaker, autoscaling, _, _ = stubbed
    with pytest.raises(deployer.EventError, match="'kit-action'"):
        deployer.dispatch({"kit-action": "delete-everything"}, FIXED, sagemaker, autoscaling)
