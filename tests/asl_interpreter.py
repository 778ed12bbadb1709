"""A small Amazon States Language interpreter for running this kit's state machines in tests with scripted task results.

Why not moto: moto 5.2's Step Functions engine can execute ASL, but its scripted results (Step Functions Local mock
configurations) are indexed by retry attempt, not by visit, so a polling loop that visits one Task many times cannot be
scripted, and it would sleep through real Wait states. This interpreter covers the subset the kit's definitions use
(Task, Choice, Wait, Pass, Succeed, Fail; InputPath, Parameters, ResultSelector, ResultPath, OutputPath; Retry, Catch;
the intrinsic functions below) and refuses anything else with NotImplementedError, so a test never passes on a
feature it silently skipped. Semantics follow the ASL specification (https://states-language.net/spec.html) and the
Step Functions Developer Guide (input and output processing: concepts-input-output-filtering.html; error handling:
concepts-error-handling.html; intrinsic functions: intrinsic-functions.html).

    status, output, visited = run(definition, {"StartTraining": [{"model_name": "m1"}], "Notify": [Failure("X")]})

`task_results[state]` lists what each entry into (or retry of) that Task returns, in order: a JSON value, a
`Failure(error, cause)`, or a callable taking the Task's effective input (after Parameters) and returning a value or
raising `Failure`. A Task entered more often than scripted raises `ScriptExhausted`: every visit is explicit.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

__all__ = ["Failure", "ScriptExhausted", "run", "definition_from_template"]

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
_RUNTIME = "States.Runtime"


class Failure(Exception):
    """A task error (as a script item, or raised by a callable script item)."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class ScriptExhausted(AssertionError):
    """A Task was entered more often than its script has results for."""


@dataclass
class _Context:
    execution_input: Any
    state_name: str = ""
    retry_count: int = 0

    def as_object(self) -> dict[str, Any]:
        return {
            "Execution": {
                "Id": "arn:aws:states:us-east-1:123456789012:execution:test:run",
                "Name": "run",
                "Input": self.execution_input,
                "StartTime": "2026-01-01T00:00:00.000Z",
                "RoleArn": "arn:aws:iam::123456789012:role/test",
            },
            "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:test", "Name": "test"},
            "State": {
                "Name": self.state_name,
                "EnteredTime": "2026-01-01T00:00:00.000Z",
                "RetryCount": self.retry_count,
            },
        }


_MISSING = object()
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def _get(path: str, data: Any, context: _Context) -> Any:
    """A reference path ($, $.a.b, $.a[0], $$.Execution.Id); raises Failure(States.Runtime) when it does not exist."""
    value = _lookup(path, data, context)
    if value is _MISSING:
        raise Failure(_RUNTIME, f"The JSONPath '{path}' could not be found in the input '{json.dumps(data)}'")
    return value


def _lookup(path: str, data: Any, context: _Context) -> Any:
    if path.startswith("$$"):
        data, rest = context.as_object(), path[2:]
    elif path.startswith("$"):
        rest = path[1:]
    else:
        raise NotImplementedError(f"not a reference path: {path!r}")
    position = 0
    for match in _PATH_TOKEN.finditer(rest):
        if match.start() != position:
            raise NotImplementedError(f"unsupported JSONPath: {path!r}")
        position = match.end()
        key, index = match.group(1), match.group(2)
        if key is not None:
            if not isinstance(data, dict) or key not in data:
                return _MISSING
            data = data[key]
        else:
            if not isinstance(data, list) or int(index) >= len(data):
                return _MISSING
            data = data[int(index)]
    if position != len(rest):
        raise NotImplementedError(f"unsupported JSONPath: {path!r}")
    return data


def _set(raw_input: Any, path: str | None, result: Any) -> Any:
    """ResultPath: null keeps the raw input, $ replaces it, $.a.b places the result (creating objects on the way)."""
    if path is None:
        return raw_input
    if path == "$":
        return result
    if not path.startswith("$."):
        raise NotImplementedError(f"unsupported ResultPath: {path!r}")
    output = copy.deepcopy(raw_input)
    if not isinstance(output, dict):
        raise Failure(_RUNTIME, f"ResultPath {path} cannot be applied to a non-object input")
    target = output
    keys = path[2:].split(".")
    for key in keys[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[keys[-1]] = result
    return output


# Intrinsic functions ------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<path>\$\$?[^,()\s]*)"
    r"|(?P<call>States\.\w+)\s*\(|(?P<close>\))|(?P<comma>,)|(?P<literal>null|true|false))"
)


def _intrinsic(expression: str, data: Any, context: _Context) -> Any:
    value, end = _parse_call(expression.strip(), 0, data, context)
    if expression.strip()[end:].strip():
        raise NotImplementedError(f"trailing text in intrinsic function: {expression!r}")
    return value


def _parse_call(text: str, position: int, data: Any, context: _Context) -> tuple[Any, int]:
    match = _TOKEN.match(text, position)
    if not match or not match.group("call"):
        raise NotImplementedError(f"not an intrinsic function call at {text[position:]!r}")
    name, position = match.group("call"), match.end()
    arguments: list[Any] = []
    while True:
        match = _TOKEN.match(text, position)
        if not match:
            raise NotImplementedError(f"cannot parse intrinsic function arguments: {text[position:]!r}")
        if match.group("close"):
            position = match.end()
            break
        if match.group("comma"):
            position = match.end()
            continue
        if match.group("call"):
            value, position = _parse_call(text, position, data, context)
            arguments.append(value)
            continue
        position = match.end()
        if match.group("string") is not None:
            arguments.append(re.sub(r"\\(.)", r"\1", match.group("string")[1:-1]))
        elif match.group("number") is not None:
            number = match.group("number")
            arguments.append(float(number) if "." in number else int(number))
        elif match.group("path") is not None:
            arguments.append(_get(match.group("path"), data, context))
        else:
            arguments.append(json.loads(match.group("literal")))
    return _FUNCTIONS.get(name, _unsupported(name))(*arguments), position


def _unsupported(name: str) -> Callable[..., Any]:
    def refuse(*_: Any) -> Any:
        raise NotImplementedError(f"intrinsic function {name} is not implemented")

    return refuse


def _format(template: str, *arguments: Any) -> str:
    parts = re.split(r"(?<!\\)\{\}", template)
    if len(parts) - 1 != len(arguments):
        raise Failure("States.IntrinsicFailure", f"States.Format: {len(parts) - 1} placeholders, {len(arguments)} args")
    out = parts[0]
    for argument, part in zip(arguments, parts[1:]):
        if isinstance(argument, (dict, list)):
            raise Failure("States.IntrinsicFailure", "States.Format takes strings, numbers, booleans or null")
        out += (argument if isinstance(argument, str) else json.dumps(argument)) + part
    return out.replace("\\{", "{").replace("\\}", "}")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.Format": _format,
    "States.JsonToString": lambda value: json.dumps(value, separators=(",", ":")),
    "States.StringToJson": json.loads,
    "States.Array": lambda *values: list(values),
    "States.ArrayLength": len,
    "States.MathAdd": lambda a, b: a + b,
}


def _parameters(template: Any, data: Any, context: _Context) -> Any:
    """Parameters / ResultSelector: keys ending in .$ take a path or an intrinsic function's value."""
    if isinstance(template, list):
        return [_parameters(item, data, context) for item in template]
    if not isinstance(template, dict):
        return template
    out: dict[str, Any] = {}
    for key, value in template.items():
        if key.endswith(".$"):
            if not isinstance(value, str):
                raise NotImplementedError(f"{key} must be a string")
            out[key[:-2]] = _get(value, data, context) if value.startswith("$") else _intrinsic(value, data, context)
        else:
            out[key] = _parameters(value, data, context)
    return out


# Choice rules ---------------------------------------------------------------------------------------------------------

_COMPARISONS: dict[str, tuple[type | tuple[type, ...], Callable[[Any, Any], bool]]] = {
    "StringEquals": (str, lambda a, b: a == b),
    "StringLessThan": (str, lambda a, b: a < b),
    "StringGreaterThan": (str, lambda a, b: a > b),
    "StringLessThanEquals": (str, lambda a, b: a <= b),
    "StringGreaterThanEquals": (str, lambda a, b: a >= b),
    "NumericEquals": ((int, float), lambda a, b: a == b),
    "NumericLessThan": ((int, float), lambda a, b: a < b),
    "NumericGreaterThan": ((int, float), lambda a, b: a > b),
    "NumericLessThanEquals": ((int, float), lambda a, b: a <= b),
    "NumericGreaterThanEquals": ((int, float), lambda a, b: a >= b),
    "BooleanEquals": (bool, lambda a, b: a == b),
}


def _is_type(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, kind)


def _matches(rule: Mapping[str, Any], data: Any, context: _Context) -> bool:
    if "And" in rule:
        return all(_matches(r, data, context) for r in rule["And"])
    if "Or" in rule:
        return any(_matches(r, data, context) for r in rule["Or"])
    if "Not" in rule:
        return not _matches(rule["Not"], data, context)
    operators = [key for key in rule if key not in ("Variable", "Next")]
    if len(operators) != 1:
        raise NotImplementedError(f"choice rule with operators {operators}")
    (operator,) = operators
    operand = rule[operator]
    if operator == "IsPresent":
        return (_lookup(rule["Variable"], data, context) is not _MISSING) == operand
    value = _get(rule["Variable"], data, context)
    type_tests = {
        "IsNull": lambda v: v is None,
        "IsString": lambda v: isinstance(v, str),
        "IsNumeric": lambda v: _is_type(v, (int, float)),
        "IsBoolean": lambda v: isinstance(v, bool),
    }
    if operator in type_tests:
        return type_tests[operator](value) == operand
    if operator == "StringMatches":
        pattern = "".join(
            ".*" if part == "*" else re.escape(part[1:] if part.startswith("\\") else part)
            for part in re.findall(r"\\.|\*|[^*\\]+", operand)
        )
        return isinstance(value, str) and re.fullmatch(pattern, value, re.DOTALL) is not None
    base = operator[:-4] if operator.endswith("Path") else operator
    if base not in _COMPARISONS:
        raise NotImplementedError(f"choice operator {operator}")
    kind, compare = _COMPARISONS[base]
    other = _get(operand, data, context) if operator.endswith("Path") else operand
    return _is_type(value, kind) and _is_type(other, kind) and compare(value, other)


# Errors ---------------------------------------------------------------------------------------------------------------


def _error_matches(names: Sequence[str], error: str) -> bool:
    """States.ALL matches every error but States.Runtime (and States.DataLimitExceeded, which this interpreter never
    raises); States.TaskFailed every error but those and States.Timeout (concepts-error-handling.html)."""
    if error in names:
        return True
    if error == _RUNTIME:
        return False
    return "States.ALL" in names or ("States.TaskFailed" in names and error != "States.Timeout")


# The run --------------------------------------------------------------------------------------------------------------


def run(
    definition: str | Mapping[str, Any],
    task_results: Mapping[str, Sequence[Any]],
    execution_input: Any = None,
    *,
    calls: list[tuple[str, Any]] | None = None,
    max_transitions: int = 1000,
) -> tuple[str, Any, list[str]]:
    """Run `definition` (JSON text or dict) to its end: returns (status SUCCEEDED or FAILED, the output (on FAILED,
    {"Error", "Cause"}), the states entered in order). Every Task's effective input is appended to `calls`."""
    machine = json.loads(definition) if isinstance(definition, str) else definition
    states: Mapping[str, Mapping[str, Any]] = machine["States"]
    scripts = {name: list(items) for name, items in task_results.items()}
    unknown = set(scripts) - {name for name, state in states.items() if state["Type"] == "Task"}
    if unknown:
        raise KeyError(f"scripted states that are not Task states: {sorted(unknown)}")
    context = _Context(execution_input={} if execution_input is None else execution_input)
    data: Any = copy.deepcopy(context.execution_input)
    visited: list[str] = []
    name = machine["StartAt"]
    for _ in range(max_transitions):
        state = states[name]
        visited.append(name)
        context.state_name, context.retry_count = name, 0
        try:
            outcome = _step(name, state, data, context, scripts, calls)
        except Failure as failure:
            if failure.error == _RUNTIME:
                return FAILED, {"Error": failure.error, "Cause": failure.cause}, visited
            raise
        if outcome[0] == "next":
            _, name, data = outcome
            continue
        _, status, output = outcome
        return status, output, visited
    raise RuntimeError(f"no end after {max_transitions} transitions: {visited[-10:]}")


def _step(
    name: str,
    state: Mapping[str, Any],
    raw: Any,
    context: _Context,
    scripts: dict[str, list[Any]],
    calls: list[tuple[str, Any]] | None,
) -> tuple[str, Any, Any]:
    kind = state["Type"]
    effective = _get(state.get("InputPath", "$"), raw, context) if state.get("InputPath", "$") is not None else {}

    def leave(result_data: Any) -> tuple[str, Any, Any]:
        output_path = state.get("OutputPath", "$")
        output = _get(output_path, result_data, context) if output_path is not None else {}
        if state.get("End"):
            return "end", SUCCEEDED, output
        return "next", state["Next"], output

    if kind == "Succeed":
        output_path = state.get("OutputPath", "$")
        return "end", SUCCEEDED, _get(output_path, effective, context) if output_path is not None else {}
    if kind == "Fail":
        error = _get(state["ErrorPath"], raw, context) if "ErrorPath" in state else state.get("Error", "")
        cause = _get(state["CausePath"], raw, context) if "CausePath" in state else state.get("Cause", "")
        return "end", FAILED, {"Error": error, "Cause": cause}
    if kind == "Wait":
        return leave(effective)
    if kind == "Pass":
        value = _parameters(state["Parameters"], effective, context) if "Parameters" in state else effective
        return leave(_set(raw, state.get("ResultPath", "$"), state.get("Result", value)))
    if kind == "Choice":
        for rule in state["Choices"]:
            if _matches(rule, effective, context):
                return "next", rule["Next"], _output(state, effective, context)
        if "Default" in state:
            return "next", state["Default"], _output(state, effective, context)
        return "end", FAILED, {"Error": "States.NoChoiceMatched", "Cause": f"no choice rule matched in {name}"}
    if kind != "Task":
        raise NotImplementedError(f"state type {kind} ({name})")
    task_input = _parameters(state["Parameters"], effective, context) if "Parameters" in state else effective
    attempts: dict[int, int] = {}
    while True:
        if calls is not None:
            calls.append((name, copy.deepcopy(task_input)))
        try:
            result = _invoke(name, scripts, task_input)
        except Failure as failure:
            if failure.error == _RUNTIME:
                raise
            retrier = next(
                (i for i, r in enumerate(state.get("Retry", [])) if _error_matches(r["ErrorEquals"], failure.error)),
                None,
            )
            if retrier is not None:
                attempts[retrier] = attempts.get(retrier, 0) + 1
                if attempts[retrier] <= state["Retry"][retrier].get("MaxAttempts", 3):
                    context.retry_count += 1
                    continue
            catcher = next((c for c in state.get("Catch", []) if _error_matches(c["ErrorEquals"], failure.error)), None)
            if catcher is None:
                return "end", FAILED, {"Error": failure.error, "Cause": failure.cause}
            error_output = {"Error": failure.error, "Cause": failure.cause}
            return "next", catcher["Next"], _set(raw, catcher.get("ResultPath", "$"), error_output)
        if "ResultSelector" in state:
            result = _parameters(state["ResultSelector"], result, context)
        return leave(_set(raw, state.get("ResultPath", "$"), result))


def _output(state: Mapping[str, Any], data: Any, context: _Context) -> Any:
    output_path = state.get("OutputPath", "$")
    return _get(output_path, data, context) if output_path is not None else {}


def _invoke(name: str, scripts: dict[str, list[Any]], task_input: Any) -> Any:
    script = scripts.get(name)
    if not script:
        raise ScriptExhausted(f"Task {name} was entered but has no scripted result left")
    item = script.pop(0)
    if isinstance(item, Failure):
        raise item
    if callable(item):
        return item(copy.deepcopy(task_input))
    return copy.deepcopy(item)


def definition_from_template(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The ASL of an AWS::StepFunctions::StateMachine resource of a synthesized template. References inside the
    definition become readable placeholders: {"Ref": X} -> "X", {"Fn::GetAtt": [X, A]} -> "X.A", others -> "token"."""
    definition = resource["Properties"]["DefinitionString"]
    if isinstance(definition, str):
        return dict(json.loads(definition))

    def placeholder(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return str(part["Ref"])
        if "Fn::GetAtt" in part:
            return ".".join(part["Fn::GetAtt"])
        return "token"

    return dict(json.loads("".join(placeholder(part) for part in definition["Fn::Join"][1])))
