"""The EMR Serverless application is stopped before CloudFormation updates or deletes it (issue 29: both need it
CREATED or STOPPED, and a deploy or destroy during a run or its idle window failed)."""

import json

import pytest

from tests.model_quality.conftest import monitor_template


def _resources(template):
    return template.to_json()["Resources"]


def _one(template, kind):
    ((logical_id, resource),) = template.find_resources(kind).items()
    return logical_id, resource


def _refers_to(value, logical_id):
    """Whether a Ref or Fn::GetAtt in `value` names `logical_id` (a dependency for CloudFormation)."""
    if isinstance(value, dict):
        if value.get("Ref") == logical_id or value.get("Fn::GetAtt", [None])[0] == logical_id:
            return True
        return any(_refers_to(item, logical_id) for item in value.values())
    if isinstance(value, list):
        return any(_refers_to(item, logical_id) for item in value)
    return False


def test_the_application_is_stopped_before_its_update_and_before_its_deletion(template):
    template, _ = template
    app_id, app = _one(template, "AWS::EMRServerless::Application")
    before_id, before = _one(template, "Custom::EmrServerlessStopBeforeUpdate")
    delete_id, on_delete = _one(template, "Custom::EmrServerlessStopOnDelete")
    # CloudFormation updates a resource's dependencies first: the application waits for the stop before its update.
    assert before_id in app.get("DependsOn", [])
    assert before["Properties"]["ApplicationLogicalId"] == app_id and not _refers_to(before, app_id)
    # And deletes dependents first: the stop that refers to the application is deleted before it, and the
    # application must not depend on it (that would reverse the order).
    assert on_delete["Properties"]["ApplicationId"] == {"Fn::GetAtt": [app_id, "ApplicationId"]}
    assert delete_id not in app.get("DependsOn", []) and not _refers_to(app["Properties"], delete_id)
    # Its permissions outlive it: the stop resource depends on the policy that lets its function stop the app.
    policy_id = next(
        logical_id
        for logical_id, policy in template.find_resources("AWS::IAM::Policy").items()
        if "emr-serverless:StopApplication" in json.dumps(policy)
    )
    assert policy_id in on_delete["DependsOn"]


def test_the_stop_function_may_stop_this_application_only(template):
    template, _ = template
    app_id, _ = _one(template, "AWS::EMRServerless::Application")
    ((_, policy),) = [
        item
        for item in template.find_resources("AWS::IAM::Policy").items()
        if "emr-serverless:StopApplication" in json.dumps(item[1])
    ]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements["StopApplication"]["Action"]) == {
        "emr-serverless:GetApplication",
        "emr-serverless:ListJobRuns",
        "emr-serverless:StopApplication",
    }
    assert _refers_to(statements["StopApplication"]["Resource"], app_id)
    assert statements["CancelJobRuns"]["Action"] == "emr-serverless:CancelJobRun"
    assert "/jobruns/*" in json.dumps(statements["CancelJobRuns"]["Resource"])


def _fingerprint(**context):
    template, _ = monitor_template(profile="sandbox", **context)
    return _one(template, "Custom::EmrServerlessStopBeforeUpdate")[1]["Properties"]["Fingerprint"]


@pytest.mark.parametrize("setting, value", [("kit:quality_max_vcpu", 32), ("kit:quality_idle_minutes", 30)])
def test_a_setting_that_changes_the_application_changes_the_fingerprint(setting, value):
    """Only a changed property triggers the custom resource's Update (CloudFormation sends one when its properties
    change), so every application property must reach the fingerprint."""
    assert _fingerprint(**{setting: value}) != _fingerprint()


def test_a_setting_that_leaves_the_application_alone_leaves_the_fingerprint():
    assert _fingerprint(**{"kit:quality_decision_threshold": 0.7}) == _fingerprint()
