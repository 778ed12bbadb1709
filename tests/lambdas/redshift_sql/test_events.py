"""events.require: each way a field can be unusable fails with a message naming the field (the Step Functions and
CloudFormation events reach the handlers as JSON, so bool, None and "" are all possible)."""

import pytest

from events import EventError, require


def test_a_present_field_of_the_right_kind_is_returned_as_it_is():
    assert require({"model_name": "job_match_v1"}, "model_name") == "job_match_v1"
    assert require({"started_at": 1_798_772_405.5}, "started_at", (int, float)) == 1_798_772_405.5
    assert require({"top_k": 0}, "top_k", int) == 0


@pytest.mark.parametrize(
    ("event", "name", "kind", "message"),
    [
        (["model_name"], "model_name", str, "The event must be a JSON object, not list."),
        ({}, "model_name", str, "The event has no field 'model_name'."),
        ({"model_name": None}, "model_name", str, "The event has no field 'model_name'."),
        ({"model_name": 7}, "model_name", str, "Field 'model_name' must be str, not int: 7."),
        ({"started_at": "now"}, "started_at", (int, float), "Field 'started_at' must be int or float, not str: 'now'."),
        ({"top_k": True}, "top_k", int, "Field 'top_k' must be int, not bool: True."),
        ({"model_name": ""}, "model_name", str, "Field 'model_name' is empty."),
        ({"model_name": "  "}, "model_name", str, "Field 'model_name' is empty."),
    ],
)
def test_an_unusable_field_fails_naming_it(event, name, kind, message):
    with pytest.raises(EventError) as raised:
        require(event, name, kind)
    assert str(raised.value) == message
