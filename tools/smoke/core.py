"""What every architecture's smoke path shares: stack outputs, bounded waits, timed steps, cleanup, cost.

Each architecture's path is a plain function `run_<arch>(run, clients, settings)` over injected clients
(`clients("stepfunctions")` returns a boto3 client), so tests drive it with botocore Stubbers and a fake clock.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

Clients = Callable[[str], Any]

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
# A stack in one of these states has its outputs; anything else (in progress, rolled back, failed) has not.
READY_STACK_STATES = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")


class StepFailed(Exception):
    """A step of the real path did not do what it should; the message says what was seen."""

    recorded = False  # True once a step has put it in the table


class StepTimeout(StepFailed):
    """A bounded wait ran out."""


class Prerequisite(Exception):
    """The account lacks something the path needs (a stack, a subscription); the message says what to do."""

    recorded = False


@dataclass
class Clock:
    """Monotonic time and sleep for waits, wall time for CloudWatch windows; tests pass fakes."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], datetime] = lambda: datetime.now(timezone.utc)


def wait_for(check: Callable[[], Any], *, what: str, timeout: float, interval: float, clock: Clock) -> Any:
    """Call `check` until it returns something other than None; raise StepTimeout after `timeout` seconds."""
    start = clock.monotonic()
    while True:
        value = check()
        if value is not None:
            return value
        waited = clock.monotonic() - start
        if waited >= timeout:
            raise StepTimeout(f"{what}: not done after {timeout:.0f} s")
        clock.sleep(min(interval, timeout - waited))


@dataclass
class Step:
    architecture: str
    name: str
    status: str
    seconds: float
    detail: str


@dataclass
class Charge:
    architecture: str
    item: str
    usd: float


@dataclass
class Run:
    """One architecture's smoke run: its steps in order, what to clean up, and what it cost."""

    architecture: str
    clock: Clock
    steps: list[Step] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    cleanups: list[tuple[str, Callable[[], str]]] = field(default_factory=list)

    def step(self, name: str, action: Callable[[], Any], describe: Callable[[Any], str] = str) -> Any:
        """Run one step and record it; a failure is recorded, then raised so the path stops there."""
        start = self.clock.monotonic()
        try:
            result = action()
        except Prerequisite as error:
            self.record(name, SKIP, start, str(error))
            error.recorded = True
            raise
        except (StepFailed, ClientError, BotoCoreError) as error:
            self.record(name, FAIL, start, _message(error))
            failure = StepFailed(str(error))
            failure.recorded = True
            raise failure from error
        self.record(name, PASS, start, describe(result))
        return result

    def skip(self, name: str, detail: str) -> None:
        self.record(name, SKIP, self.clock.monotonic(), detail)

    def record(self, name: str, status: str, start: float, detail: str) -> None:
        self.steps.append(Step(self.architecture, name, status, self.clock.monotonic() - start, detail))

    def charge(self, item: str, usd: float) -> None:
        self.charges.append(Charge(self.architecture, item, usd))

    def estimate(self, charge: Callable[[], None]) -> None:
        """Add what a finished step cost; an estimate that cannot be made is listed, never a failed step."""
        try:
            charge()
        except Exception as error:  # noqa: BLE001 - a missing price or field must not fail the smoke test
            self.charges.append(Charge(self.architecture, f"not estimated: {_message(error)}", 0.0))

    def on_cleanup(self, name: str, action: Callable[[], str]) -> None:
        self.cleanups.append((name, action))

    def clean_up(self, keep: bool, kept: str = "kept (--keep)") -> None:
        """Undo what the run created, newest first; each undo is a step of its own (`kept`: why, when kept)."""
        for name, action in reversed(self.cleanups):
            if keep:
                self.skip(f"clean up: {name}", kept)
                continue
            try:
                self.step(f"clean up: {name}", action)
            except StepFailed:
                continue  # recorded; the other cleanups still run
        self.cleanups.clear()


def _message(error: Exception) -> str:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{error.operation_name}: {info.get('Code', '?')}: {info.get('Message', '')}"
    return str(error)


class StackOutputs:
    """The outputs of one deployed stack, looked up by the name the construct gave them."""

    def __init__(self, stack_name: str, outputs: dict[str, str]) -> None:
        self.stack_name = stack_name
        self.outputs = outputs
        self.read: set[str] = set()  # the names asked for, so a test can hold them against the templates

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        # A CfnOutput inside a construct gets a logical ID of the construct path, the name and an 8-hex hash.
        pattern = re.compile(rf"[A-Za-z0-9]*?{re.escape(name)}[0-9A-F]{{8}}")
        matches = [key for key in self.outputs if key == name or pattern.fullmatch(key)]
        if len(matches) != 1:
            found = ", ".join(sorted(self.outputs)) or "none"
            raise StepFailed(
                f"stack {self.stack_name} has {len(matches) or 'no'} output(s) named {name} "
                f"(outputs: {found}); deploy the current version of the kit"
            )
        return self.outputs[matches[0]]

    def get(self, name: str) -> str | None:
        try:
            return self[name]
        except StepFailed:
            return None


def read_outputs(cloudformation: Any, stack_name: str, region: str) -> StackOutputs:
    """DescribeStacks; a stack that is not there, or not in a complete state, is a missing prerequisite."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationError" and "does not exist" in str(error):
            raise Prerequisite(
                f"stack {stack_name} is not deployed in {region}: deploy it "
                f"(npx cdk deploy {stack_name}) or leave it out with --only"
            ) from None
        raise
    stack = stacks[0]
    if stack["StackStatus"] not in READY_STACK_STATES:
        raise Prerequisite(
            f"stack {stack_name} is {stack['StackStatus']} in {region}; "
            "wait for it or redeploy it, then run the smoke test again"
        )
    return StackOutputs(stack_name, {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})


def split_s3_uri(uri: str) -> tuple[str, str]:
    """('bucket', 'prefix') of s3://bucket/prefix (no trailing slash)."""
    match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri)
    if not match:
        raise StepFailed(f"{uri!r} is not an s3:// URI")
    return match.group(1), match.group(2).strip("/")


def delete_keys(s3: Any, bucket: str, keys: list[str]) -> int:
    """DeleteObjects in batches of 1,000 (its limit); raises on any key S3 could not delete."""
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        response = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        errors = response.get("Errors", [])
        if errors:
            raise StepFailed(
                f"could not delete {len(errors)} object(s) in {bucket}, e.g. {errors[0].get('Key')}: "
                f"{errors[0].get('Message')}"
            )
    return len(keys)


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys, token = [], None
    while True:
        request = {"Bucket": bucket, "Prefix": prefix, **({"ContinuationToken": token} if token else {})}
        page = s3.list_objects_v2(**request)
        keys.extend(item["Key"] for item in page.get("Contents", []))
        if not page.get("IsTruncated"):
            return keys
        token = page["NextContinuationToken"]
