"""A second lane for the tests whose work is a subprocess: mypy, and `app.py` synthesized the way the CDK CLI runs it.

The machine `make test` is sized for has two cores and the test run itself uses about one. A test marked
`@in_background(job)` has `job` started in a worker thread as soon as collection knows the run has that test (jobs
run one at a time, in collection order, so the lane uses about one core); the test receives the job's return value
through the `background_result` fixture, waiting for it if the job is still running, and asserts on it. A job that
raises raises in its test. A job gets a fresh temporary folder and the test's parameters as keyword arguments.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

JOB_ATTRIBUTE = "_background_job"
# Longer than any job on a loaded two-core machine; a job that exceeds it fails its test instead of hanging the run.
RESULT_TIMEOUT_S = 900


def in_background(job: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test: `job(workdir, **params)` runs in the background lane, its result goes to `background_result`."""

    def mark(test: Callable[..., Any]) -> Callable[..., Any]:
        setattr(test, JOB_ATTRIBUTE, job)
        return test

    return mark


class BackgroundLane:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="background-lane")
        self._futures: dict[str, Future[Any]] = {}
        self._folders: list[Path] = []

    def start(self, items: list[pytest.Item]) -> None:
        for item in items:
            job = getattr(getattr(item, "function", None), JOB_ATTRIBUTE, None)
            if job is None:
                continue
            workdir = Path(tempfile.mkdtemp(prefix="background-"))
            self._folders.append(workdir)
            params = dict(getattr(getattr(item, "callspec", None), "params", {}))
            self._futures[item.nodeid] = self._executor.submit(job, workdir, **params)

    def result(self, nodeid: str) -> Any:
        return self._futures[nodeid].result(timeout=RESULT_TIMEOUT_S)

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._executor.shutdown(wait=True)
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)
