"""Answer CloudFormation for a Lambda-backed custom resource (what cfn-response does, with urllib only)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def send(
    event: dict[str, Any], status: str, physical_id: str, reason: str = "", data: dict[str, Any] | None = None
) -> None:
    body = json.dumps(
        {
            "Status": status,
            # CloudFormation shows at most ~4 KB of the reason; keep the end, where the error text is.
            "Reason": reason[-3500:] or f"See the function's log for request {event.get('RequestId')}",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data or {},
        }
    ).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the pre-signed CloudFormation URL
        response.read()
