"""Every command the README prints works as printed: its make targets, scripts and modules exist, and nothing runs
the system `python` or `npx` (which lack the kit's packages and pinned CDK CLI) instead of `scripts/kit-env`."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex

import pytest

from tools.synthesis import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
SHELL_BLOCK = re.compile(r"```(?:bash|sh|shell)\n(.*?)```", re.DOTALL)
# Inline code that is a command to run (prose mentions such as `cdk deploy` name the CDK command, not a line to type).
INLINE_COMMAND = re.compile(r"(?<!`)`((?:python3? |npx |pip |pytest |make |scripts/[\w.-]+ )[^`\n]*)`(?!`)")
# Tools of the machine or the AWS account that the README assumes (the AWS CLI for account-side steps).
EXTERNAL = {"aws", "git", "export", "cd", "mkdir", "tar", "apt-get", "source"}
NEEDS_KIT_ENV = {"python", "python3", "npx", "cdk", "pip", "pytest", "node", "npm"}


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):(?!=)", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))


def readme_commands(text: str) -> list[str]:
    """Each simple command of the README's shell blocks and inline command spans, comments and continuations removed."""
    lines = []
    for block in SHELL_BLOCK.findall(text):
        lines += block.replace("\\\n", " ").splitlines()
    lines += INLINE_COMMAND.findall(text)
    commands = []
    for line in lines:
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        line = re.sub(r"<[^<>]*>", "PLACEHOLDER", line)  # <LifecycleStateMachineArn output>
        for part in re.split(r"&&|\|\||;|\|", line):
            part = re.sub(r"\s[<>]\s*\S+", "", f" {part}").strip()  # redirections
            if part:
                commands.append(part)
    return commands


def problem(command: str, targets: set[str]) -> str | None:
    """Why `command` would not work as printed, or None."""
    words = shlex.split(command)
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        words.pop(0)  # VAR=value prefix
    if not words:
        return None
    head, rest = words[0], words[1:]
    if head == "make":
        goals = [word for word in rest if "=" not in word and not word.startswith("-")]
        missing = [goal for goal in goals if goal not in targets]
        return f"no make target {', '.join(missing)}" if missing else None
    if head in NEEDS_KIT_ENV:
        return f"`{head}` here is the machine's, without the kit's packages: write `scripts/kit-env {command}`"
    if head in EXTERNAL:
        return None
    if head.startswith("scripts/"):
        if not os.access(PROJECT_ROOT / head, os.X_OK):
            return f"{head} is not an executable script of the kit"
        if head == "scripts/kit-env" and rest:
            return wrapped_problem(rest)
        return None
    return f"`{head}` is not a command the kit provides or the README's prerequisites name"


def wrapped_problem(words: list[str]) -> str | None:
    """What scripts/kit-env runs: python -m <module> must exist, python <file> must exist, npx runs the pinned CDK."""
    head, rest = words[0], words[1:]
    if head in ("python", "python3"):
        if rest[:1] == ["-m"]:
            module = rest[1]
            if module != "pytest" and importlib.util.find_spec(module) is None:
                return f"no module {module}"
        elif rest and not (PROJECT_ROOT / rest[0]).is_file():
            return f"no file {rest[0]}"
        return None
    if head == "npx":
        return None if rest[:1] == ["cdk"] else f"npx {rest[:1]} is not the pinned CDK CLI"
    return f"scripts/kit-env {head}: not a tool the kit installs"


def test_the_readme_prints_commands():
    commands = readme_commands(README.read_text())
    assert "make synth" in commands and any(c.startswith("scripts/kit-env npx cdk deploy") for c in commands)


@pytest.mark.parametrize("command", sorted(set(readme_commands(README.read_text()))))
def test_every_readme_command_works_as_printed(command):
    assert problem(command, make_targets()) is None, f"README: {command!r}: {problem(command, make_targets())}"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("npx cdk synth -c profile=sandbox", "the machine's"),
        ("python -m datagen.churn --rows 10", "the machine's"),
        ("make sytnh", "no make target sytnh"),
        ("scripts/kit-env python -m tools.nothing", "no module tools.nothing"),
        ("scripts/missing", "not an executable script"),
        ("SELECT * FROM jobmatch.recommendations", "not a command"),
    ],
)
def test_the_check_catches_commands_that_fail_as_printed(command, message):
    assert message in problem(command, make_targets())


ALARM_ROW = re.compile(r"^\| `([A-Za-z]+Alarm)`", re.MULTILINE)


def _alarms_in_templates() -> dict[str, str]:
    """Logical ID -> template file of every CloudWatch alarm in the synthesized templates of both profiles."""
    import json

    alarms = {}
    for path in sorted((PROJECT_ROOT / "tests" / "snapshots").glob("*/*.json")):
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                alarms[logical_id] = f"{path.parent.name}/{path.name}"
    return alarms


def test_every_alarm_of_the_templates_has_one_row_in_the_notices_table():
    """Who is told what (issue 28): an alarm added without saying what it means and what to do fails here. A row
    names the alarm's construct ID, which its logical ID ends with before CDK's 8-character hash."""
    rows = ALARM_ROW.findall((PROJECT_ROOT / "README.md").read_text())
    alarms = _alarms_in_templates()
    assert alarms
    for logical_id, template in alarms.items():
        matching = [row for row in rows if re.search(rf"{row}[0-9A-F]{{8}}$", logical_id)]
        assert len(matching) == 1, f"{logical_id} ({template}) has {len(matching)} rows in the README's alarm table"
    unused = [row for row in rows if not any(re.search(rf"{row}[0-9A-F]{{8}}$", a) for a in alarms)]
    assert not unused, f"README rows for alarms no template has: {unused}"
