"""Failures that stayed silent send a notice (issue 28): the endpoint's own FAILED / UPDATE_ROLLBACK_FAILED state
reaches the topic through a rule the topic's policy allows, and the deployer may publish its notices."""

import copy
import json

import pytest
from moto.events.models import EventPattern

from tests.churn_model.test_churn import _key_allows_service, _logical_id, _role_allows

# The documented endpoint state change sample (SageMaker DG, "Events that Amazon SageMaker AI sends to Amazon
# EventBridge", https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html), for the
# kit's endpoint; its status is set per case.
SAMPLE = {
    "version": "0",
    "id": "d2921b5a-b0ad-cace-a8e3-0f159d018e06",
    "detail-type": "SageMaker Endpoint State Change",
    "source": "aws.sagemaker",
    "account": "123456789012",
    "time": "1583831889050",
    "region": "us-west-2",
    "resources": ["arn:aws:sagemaker:us-west-2:123456789012:endpoint/churn-endpoint"],
    "detail": {
        "EndpointName": "churn-endpoint",
        "EndpointArn": "arn:aws:sagemaker:us-west-2:123456789012:endpoint/churn-endpoint",
        "EndpointConfigName": "churn-endpoint-v2",
        "ProductionVariants": [{"DesiredWeight": 1.0, "DesiredInstanceCount": 1.0}],
        "EndpointStatus": "IN_SERVICE",
        "CreationTime": 1592411992203.0,
        "LastModifiedTime": 1592411994287.0,
        "Tags": {},
    },
}


def _event(status, endpoint="churn-endpoint"):
    event = copy.deepcopy(SAMPLE)
    event["detail"].update(EndpointStatus=status, EndpointName=endpoint)
    return event


def _topic_rules(template):
    """(rule properties, target) for every rule target that is a topic of the stack."""
    topics = template.find_resources("AWS::SNS::Topic")
    return [
        (rule["Properties"], target, rule_id)
        for rule_id, rule in template.find_resources("AWS::Events::Rule").items()
        for target in rule["Properties"]["Targets"]
        if _logical_id(target["Arn"]) in topics
    ]


@pytest.mark.parametrize(
    ("status", "endpoint", "notified"),
    [
        ("FAILED", "churn-endpoint", True),
        ("UPDATE_ROLLBACK_FAILED", "churn-endpoint", True),
        ("IN_SERVICE", "churn-endpoint", False),
        ("UPDATING", "churn-endpoint", False),
        ("FAILED", "another-endpoint", False),
    ],
)
def test_the_endpoints_failure_events_reach_the_topic(churn, status, endpoint, notified):
    template, _ = churn
    matched = [
        rule
        for rule, _, _ in _topic_rules(template)
        if EventPattern.load(json.dumps(rule["EventPattern"])).matches_event(_event(status, endpoint))
    ]
    assert bool(matched) is notified


def test_the_notice_names_the_endpoint_its_status_and_the_first_thing_to_do(churn):
    template, _ = churn
    [(_, target, _)] = _topic_rules(template)
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {
        "detail-EndpointName": "$.detail.EndpointName",
        "detail-EndpointStatus": "$.detail.EndpointStatus",
        "detail-EndpointConfigName": "$.detail.EndpointConfigName",
        "time": "$.time",
    }
    for placeholder in transformer["InputPathsMap"]:
        assert f"<{placeholder}>" in transformer["InputTemplate"]
    assert "describe-endpoint" in transformer["InputTemplate"]


def test_every_rule_that_publishes_to_a_topic_is_allowed_by_the_topic_policy_and_the_key(churn):
    """EventBridge publishes as events.amazonaws.com, which has no identity policy: the topic policy must allow it,
    for this rule only (aws:SourceArn), and the topic's key policy must let it encrypt."""
    template, _ = churn
    resources = template.to_json()["Resources"]
    policies = template.find_resources("AWS::SNS::TopicPolicy").values()
    pairs = _topic_rules(template)
    assert pairs
    for _, target, rule_id in pairs:
        topic = _logical_id(target["Arn"])
        allowed = [
            statement
            for policy in policies
            if topic in [_logical_id(t) for t in policy["Properties"]["Topics"]]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Allow"
            and statement.get("Principal") == {"Service": "events.amazonaws.com"}
            and "sns:Publish" in statement["Action"]
        ]
        assert allowed, f"no topic policy lets {rule_id} publish to {topic}"
        for statement in allowed:  # none without the rule's ARN (any rule of any account could publish)
            assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
        key = _logical_id(resources[topic]["Properties"]["KmsMasterKeyId"])
        assert _key_allows_service(resources[key], "events.amazonaws.com", None)


def test_the_deployer_publishes_its_notices_to_the_topic(churn):
    template, _ = churn
    [function] = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "deployer.handler"
    ]
    topic = _logical_id(function["Environment"]["Variables"]["TOPIC_ARN"])
    assert topic in template.find_resources("AWS::SNS::Topic")
    role = _logical_id(function["Role"])
    assert _role_allows(template.find_resources("AWS::IAM::Policy"), role, "sns:Publish", topic)
