"""The test ASL interpreter against the Amazon States Language specification's input/output, error and choice rules."""

import pytest

from tests.asl_interpreter import Failure, ScriptExhausted, definition_from_template, run


def machine(states, start=None):
    return {"StartAt": start or next(iter(states)), "States": states}


def test_task_paths_compose_in_the_documented_order():
    definition = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn",
                "InputPath": "$.inner",
                "Parameters": {"x.$": "$.value", "fixed": 1, "nested": {"y.$": "$.value"}},
                "ResultSelector": {"kept.$": "$.payload"},
                "ResultPath": "$.result",
                "OutputPath": "$.result",
                "End": True,
            }
        }
    )
    calls = []
    status, output, visited = run(
        definition, {"T": [{"payload": 7, "noise": 1}]}, {"inner": {"value": "v"}}, calls=calls
    )
    assert (status, output, visited) == ("SUCCEEDED", {"kept": 7}, ["T"])
    assert calls == [("T", {"x": "v", "fixed": 1, "nested": {"y": "v"}})]


def test_result_path_null_keeps_the_raw_input_and_dollar_replaces_it():
    states = {
        "A": {"Type": "Task", "Resource": "arn", "ResultPath": None, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn", "End": True},
    }
    assert run(machine(states), {"A": ["ignored"], "B": [{"new": 1}]}, {"old": 1})[:2] == ("SUCCEEDED", {"new": 1})
    states["B"]["ResultPath"] = "$.a.b"
    assert run(machine(states), {"A": ["x"], "B": [2]}, {"old": 1})[1] == {"old": 1, "a": {"b": 2}}


def test_retry_consumes_the_next_scripted_result_then_catch_places_the_error():
    states = {
        "T": {
            "Type": "Task",
            "Resource": "arn",
            "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "F"}],
            "Next": "S",
        },
        "S": {"Type": "Succeed"},
        "F": {"Type": "Fail", "Error": "Caught"},
    }
    retried = {"T": [Failure("Lambda.ServiceException"), Failure("Lambda.ServiceException"), {"ok": True}]}
    assert run(machine(states), retried)[:2] == ("SUCCEEDED", {"ok": True})
    exhausted = {"T": [Failure("Lambda.ServiceException", "c")] * 3}
    calls = []
    status, output, visited = run(machine(states), exhausted, calls=calls)
    assert (status, output["Error"], visited) == ("FAILED", "Caught", ["T", "F"])
    assert len(calls) == 3


def test_catch_result_path_holds_error_and_cause():
    states = {
        "T": {
            "Type": "Task",
            "Resource": "arn",
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "P"}],
            "End": True,
        },
        "P": {"Type": "Pass", "End": True},
    }
    assert run(machine(states), {"T": [Failure("Boom", "why")]}, {"a": 1})[1] == {
        "a": 1,
        "error": {"Error": "Boom", "Cause": "why"},
    }
    # States.TaskFailed does not match States.Timeout: the execution fails uncaught.
    assert run(machine(states), {"T": [Failure("States.Timeout")]})[:2] == (
        "FAILED",
        {"Error": "States.Timeout", "Cause": ""},
    )


def test_a_missing_path_is_a_runtime_error_that_states_all_does_not_catch():
    states = {
        "T": {
            "Type": "Task",
            "Resource": "arn",
            "Parameters": {"m.$": "$.missing"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S"}],
            "End": True,
        },
        "S": {"Type": "Succeed"},
    }
    status, output, _ = run(machine(states), {"T": []})
    assert status == "FAILED" and output["Error"] == "States.Runtime"


def test_choice_rules():
    states = {
        "C": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.absent", "IsPresent": True, "Next": "Absent"},
                {"Variable": "$.a", "NumericGreaterThanEqualsPath": "$.b", "Next": "Ge"},
                {
                    "And": [
                        {"Variable": "$.s", "StringMatches": "log-*.txt"},
                        {"Not": {"Variable": "$.f", "BooleanEquals": True}},
                    ],
                    "Next": "Match",
                },
            ],
            "Default": "Other",
        },
        "Absent": {"Type": "Succeed"},
        "Ge": {"Type": "Succeed"},
        "Match": {"Type": "Succeed"},
        "Other": {"Type": "Succeed"},
    }
    assert run(machine(states), {}, {"a": 2, "b": 2})[2] == ["C", "Ge"]
    assert run(machine(states), {}, {"a": 1, "b": 2, "s": "log-1.txt", "f": False})[2] == ["C", "Match"]
    assert run(machine(states), {}, {"a": "2", "b": 1, "s": "x", "f": False})[2] == ["C", "Other"]
    del states["C"]["Default"]
    status, output, _ = run(machine(states), {}, {"a": 0, "b": 1, "s": "x", "f": False})
    assert (status, output["Error"]) == ("FAILED", "States.NoChoiceMatched")


def test_intrinsic_functions():
    states = {
        "T": {
            "Type": "Task",
            "Resource": "arn",
            "Parameters": {
                "m.$": "States.Format('Model {} failed: {}', $.name, States.JsonToString($.error))",
                "a.$": "States.Array('--x', 'it\\'s', $.n)",
                "e.$": "$$.Execution.Id",
            },
            "End": True,
        }
    }
    calls = []
    run(machine(states), {"T": [None]}, {"name": "m1", "error": {"Error": "E"}, "n": 3}, calls=calls)
    assert calls[0][1]["m"] == 'Model m1 failed: {"Error":"E"}'
    assert calls[0][1]["a"] == ["--x", "it's", 3]
    assert calls[0][1]["e"].startswith("arn:aws:states:")


def test_every_visit_is_scripted_and_unknown_features_are_refused():
    loop = {"W": {"Type": "Wait", "Seconds": 60, "Next": "T"}, "T": {"Type": "Task", "Resource": "arn", "Next": "W"}}
    with pytest.raises(ScriptExhausted):
        run(machine(loop), {"T": [1, 2]})
    with pytest.raises(KeyError):
        run(machine(loop), {"W": [1]})
    with pytest.raises(NotImplementedError):
        run(machine({"M": {"Type": "Map", "End": True}}), {})
    with pytest.raises(RuntimeError):
        run(machine(loop), {"T": [1] * 100}, max_transitions=50)


def test_definition_from_template_turns_references_into_placeholders():
    resource = {
        "Properties": {
            "DefinitionString": {
                "Fn::Join": [
                    "",
                    [
                        '{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"',
                        {"Fn::GetAtt": ["Fn", "Arn"]},
                        '","End":true}}}',
                    ],
                ]
            }
        }
    }
    assert definition_from_template(resource)["States"]["T"]["Resource"] == "Fn.Arn"
