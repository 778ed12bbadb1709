"""Runs ON the churn notebook instance (not in the CDK app), from cron every 5 minutes: copies the notebooks to S3,
and stops the instance once every Jupyter kernel has been idle for the given minutes.

Standard library only (the instance has no internet route). Adapted from AWS's auto-stop-idle lifecycle sample
(https://github.com/aws-samples/amazon-sagemaker-notebook-instance-lifecycle-config-samples/tree/master/scripts/auto-stop-idle):
Jupyter's sessions API on https://localhost:8443 says each kernel's execution_state and last_activity, and the
instance's name is ResourceName in /opt/ml/metadata/resource-metadata.json. Usage:
`python3 notebook_idle_stop.py <idle minutes> <started marker> <sync command>`.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

SESSIONS_URL = "https://localhost:8443/api/sessions"
METADATA = "/opt/ml/metadata/resource-metadata.json"


def last_activity(sessions: list[dict[str, Any]], started: datetime) -> datetime | None:
    """When the instance was last busy: None while a kernel runs; with no kernel, when it started."""
    latest = started
    for session in sessions:
        kernel = session["kernel"]
        if kernel["execution_state"] != "idle":
            return None
        # Jupyter writes UTC with a trailing Z, e.g. 2026-12-05T19:00:00.123456Z.
        seen = datetime.fromisoformat(kernel["last_activity"].replace("Z", "+00:00"))
        latest = max(latest, seen)
    return latest


def is_idle(sessions: list[dict[str, Any]], started: datetime, now: datetime, idle_minutes: int) -> bool:
    since = last_activity(sessions, started)
    return since is not None and now - since >= timedelta(minutes=idle_minutes)


def _sessions() -> list[dict[str, Any]]:
    # Jupyter's own self-signed certificate on localhost, as the AWS sample reads it (verify=False).
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(SESSIONS_URL, context=context, timeout=30) as response:
        sessions: list[dict[str, Any]] = json.load(response)
    return sessions


def main(idle_minutes: int, started_marker: str, sync_command: str) -> None:
    subprocess.run(["bash", sync_command], check=True)  # the notebooks reach S3 before any stop
    started = datetime.fromtimestamp(os.path.getmtime(started_marker), tz=timezone.utc)
    if not is_idle(_sessions(), started, datetime.now(timezone.utc), idle_minutes):
        return
    with open(METADATA) as metadata:
        name = json.load(metadata)["ResourceName"]
    print(f"Idle for {idle_minutes} minutes: stopping {name}", flush=True)
    subprocess.run(["aws", "sagemaker", "stop-notebook-instance", "--notebook-instance-name", name], check=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
