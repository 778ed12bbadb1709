"""A3 declarations: the calls each runtime actor makes, and the mapping from SDK operations to IAM actions.

A Lambda folder holds `iam_calls.json`: {"<module>.handler": [{"action", "resource", "context"?, "why"?}]}.
Its handler tests record every botocore call the handler makes (tests/lambdas/conftest.py); a recorded call
whose IAM action is not declared fails that test. `tests/contracts` then checks each declared call against the
synthesized policies of the function's role.

Resource and context values may use placeholders, resolved against the synthesized templates:
  ${AWS::Partition} ${AWS::Region} ${AWS::AccountId}   the symbolic environment
  ${env:NAME}            the function's environment variable NAME
  ${property:NAME}       property NAME of the custom resource the function serves
  ${arn-of:<value>}      the ARN of the resource whose Ref is <value>; `Type|<value>` picks the resource type
                         (e.g. ${arn-of:AWS::RedshiftServerless::Workgroup|${env:WORKGROUP_NAME}})
  ${key-of:<value>}      the ARN of the KMS key that encrypts the bucket, topic or queue whose Ref is <value>
  ${resource:<prefix>}   the Ref of the resource whose logical id starts with <prefix> (service roles)
  ${name-of:<prefix>}    the physical name of that resource (its name property: a group, a log group, a database)
  ${asset-key:<path>}    the object key of the stack's file asset whose display name (construct path) is <path>

An entry `{"probe": "<S3 object ARN>", "by": "get" | "hadoop", "why"?}` declares a presence probe of that key,
which must read a missing key as missing (404 or an empty listing), not as 403 (tools/contracts/permissions.py
`probe_calls`).

An entry may carry "when": {"equals" | "greater": [left, right]} (placeholders allowed) when the handler makes
the call only under that setting, and "why" with the page that says a call is needed.
"""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

# botocore service name -> IAM service prefix, where they differ.
IAM_PREFIX: dict[str, str] = {"stepfunctions": "states"}
# (IAM prefix, operation) -> IAM action, where the action is not named after the operation (S3: Service
# Authorization Reference, list_amazons3.html; ListObjectsV2 and HeadBucket need s3:ListBucket, HeadObject
# needs s3:GetObject; a multi-object delete needs s3:DeleteObject, and s3:DeleteObjectVersion only to delete a given
# version: https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html, Permissions).
IAM_ACTION = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
}

DECLARATION = "iam_calls.json"
LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


def iam_action(service_name: str, operation: str) -> str:
    prefix = IAM_PREFIX.get(service_name, service_name)
    return IAM_ACTION.get((prefix, operation), f"{prefix}:{operation}")


@lru_cache(maxsize=None)
def _botocore_services() -> dict[str, str]:
    """Normalized name ("redshiftserverless") -> botocore service name ("redshift-serverless")."""
    import botocore.session

    names = botocore.session.get_session().get_available_services()
    return {re.sub(r"[^a-z0-9]", "", name): name for name in names}


@lru_cache(maxsize=None)
def _signing_name(service_name: str) -> str:
    import botocore.session

    metadata = botocore.session.get_session().get_service_model(service_name).metadata
    return str(metadata.get("signingName") or metadata["endpointPrefix"])


def sdk_call_operation(service: str, action: str) -> tuple[str, str]:
    """(botocore service name, operation) of an AwsCustomResource call: `service` as CDK takes it (SDK v2 name
    "RedshiftServerless" or v3 package "@aws-sdk/client-redshift-serverless"), `action` ("createUsageLimit" or
    "CreateUsageLimitCommand")."""
    normalized = re.sub(r"[^a-z0-9]", "", service.lower().removeprefix("@aws-sdk/client-"))
    operation = action.removesuffix("Command")
    return _botocore_services()[normalized], operation[0].upper() + operation[1:]


def sdk_call_action(service: str, action: str) -> str:
    """The IAM action of an AwsCustomResource call (see `sdk_call_operation`). The IAM prefix is the service's
    signing name in its botocore model (the same as the prefix for the services the kit calls)."""
    service_name, operation = sdk_call_operation(service, action)
    prefix = _signing_name(service_name)
    return IAM_ACTION.get((prefix, operation), f"{prefix}:{operation}")


def declaration(folder: Path) -> dict[str, list[dict]]:
    path = folder / DECLARATION
    return json.loads(path.read_text()) if path.exists() else {}


# The actions a presence probe entry ({"probe": ARN, "by": ...}, tools/contracts/permissions.py) stands for.
PROBE_ACTIONS = ("s3:getobject", "s3:listbucket")


def declared_actions(folder: Path) -> set[str]:
    return {
        action
        for calls in declaration(folder).values()
        for call in calls
        for action in (PROBE_ACTIONS if "probe" in call else (call["action"].lower(),))
    }


def undeclared(recorded: set[tuple[str, str]], folder: Path) -> list[str]:
    """The IAM actions of recorded (service, operation) calls that `folder`'s declaration does not list."""
    declared = declared_actions(folder)
    return sorted(
        {
            iam_action(service, operation)
            for service, operation in recorded
            if iam_action(service, operation).lower() not in declared
        }
    )


_PLACEHOLDER = re.compile(r"\$\{([^{}]+)\}")


def expand(text: str, lookup) -> str:
    """`text` with each ${...} replaced by `lookup(expression)` (innermost first)."""
    while True:
        replaced = _PLACEHOLDER.sub(lambda match: str(lookup(match.group(1))), text)
        if replaced == text:
            return replaced
        text = replaced


@contextmanager
def recorded_calls(
    code_dir: Path, requests: list[tuple[str, str, dict]] | None = None
) -> Iterator[set[tuple[str, str]]]:
    """Record the (service, operation) of every botocore call made from code under `code_dir` (not from the
    test's own set-up calls, which go through the same clients); `requests` also gets each call's parameters."""
    import botocore.client

    recorded: set[tuple[str, str]] = set()
    original = botocore.client.BaseClient._make_api_call
    root = str(code_dir.resolve())

    def recording(client, operation_name, api_params):
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename.startswith(root):
                recorded.add((client.meta.service_model.service_name, operation_name))
                if requests is not None:
                    requests.append((client.meta.service_model.service_name, operation_name, dict(api_params)))
                break
            frame = frame.f_back
        return original(client, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = recording
    try:
        yield recorded
    finally:
        botocore.client.BaseClient._make_api_call = original
