"""The response a custom resource sends CloudFormation: a PUT of JSON to the pre-signed ResponseURL, with the fields of
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html and an empty Content-Type
(the URL is signed without one)."""

import json

import pytest

import cfn_response

EVENT = {
    "RequestType": "Create",
    "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/signed",
    "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/kit/1a2b",
    "RequestId": "unique-id-for-this-create-request",
    "LogicalResourceId": "Bootstrap",
    "ResourceType": "Custom::Bootstrap",
}


@pytest.fixture
def sent(monkeypatch):
    requests = []

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def read(self):
            requests[-1]["read"] = True
            return b""

    def urlopen(request, timeout):
        requests.append({"request": request, "timeout": timeout})
        return Response()

    monkeypatch.setattr(cfn_response.urllib.request, "urlopen", urlopen)
    return requests


def test_a_success_is_put_to_the_response_url_with_every_field(sent):
    cfn_response.send(EVENT, "SUCCESS", "kit-bootstrap", "done", {"Tables": "7"})
    (call,) = sent
    request = call["request"]
    assert (request.full_url, request.get_method()) == (EVENT["ResponseURL"], "PUT")
    assert request.get_header("Content-type") == ""
    assert json.loads(request.data) == {
        "Status": "SUCCESS",
        "Reason": "done",
        "PhysicalResourceId": "kit-bootstrap",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/kit/1a2b",
        "RequestId": "unique-id-for-this-create-request",
        "LogicalResourceId": "Bootstrap",
        "Data": {"Tables": "7"},
    }
    assert call["read"] and 0 < call["timeout"] <= 30


def test_without_a_reason_or_data_the_response_points_to_the_log_and_sends_empty_data(sent):
    cfn_response.send(EVENT, "FAILED", "kit-bootstrap")
    body = json.loads(sent[0]["request"].data)
    assert body["Reason"] == "See the function's log for request unique-id-for-this-create-request"
    assert body["Data"] == {} and body["Status"] == "FAILED"


def test_a_long_reason_keeps_its_last_3500_characters_where_the_error_is(sent):
    reason = "x" * 5000 + "ERROR: permission denied for schema jobmatch"
    cfn_response.send(EVENT, "FAILED", "kit-bootstrap", reason)
    sent_reason = json.loads(sent[0]["request"].data)["Reason"]
    assert len(sent_reason) == 3500 and sent_reason.endswith("ERROR: permission denied for schema jobmatch")
