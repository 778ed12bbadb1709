"""A lane beside the tests for the jobs whose work is a subprocess: mypy, the scanners, the docs build, and `app.py`
synthesized the way the CDK CLI runs it.

A test marked `@in_background(job)` has `job` started in a worker thread as soon as collection knows the run has that
test; the test receives the job's return value through the `background_result` fixture, waiting for it if the job is
still running, and asserts on it. A job that raises raises in its test. A job gets a fresh temporary folder and the
test's parameters as keyword arguments.

Under pytest-xdist every worker collects every test and starts a lane, but each job runs once in the whole run: a
lane claims a job by creating its claim folder in the run's shared folder (an atomic mkdir) and publishes the result
there as a pickle; a test whose job another worker's lane claimed waits for that file. The lanes take jobs in
collection order, each skipping what the other already claimed, so the jobs spread over the workers.

Jobs marked with the same `group` are claimed together: the lane that claims the group runs all of them, one after
another in one process, so work they share (one scan of every template, one Python process that imports the CDK
once for several synths) is done once per run instead of once per worker.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

JOB_ATTRIBUTE = "_background_job"
GROUP_ATTRIBUTE = "_background_group"
# Longer than any job on a loaded two-core machine; a job that exceeds it fails its test instead of hanging the run.
RESULT_TIMEOUT_S = 900


def in_background(
    job: Callable[..., Any], group: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test: `job(workdir, **params)` runs in the background lane, its result goes to `background_result`;
    the jobs of one `group` run in the same lane."""

    def mark(test: Callable[..., Any]) -> Callable[..., Any]:
        setattr(test, JOB_ATTRIBUTE, job)
        setattr(test, GROUP_ATTRIBUTE, group)
        return test

    return mark


class BackgroundLane:
    """One worker's lane. `shared` is the run's folder that every worker's lane sees (the same path for one run)."""

    def __init__(self, shared: Path) -> None:
        self._shared = shared
        self._jobs: list[tuple[str, str, Callable[[], Any]]] = []  # test id, claim key (its group or itself), call
        self._mine: dict[str, Future[Any]] = {}
        self._folders: list[Path] = []
        self._claimed: set[str] = set()
        self._claiming = threading.Lock()  # the lane's thread and the test process's main thread both claim
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, items: list[pytest.Item]) -> None:
        for item in items:
            job = getattr(getattr(item, "function", None), JOB_ATTRIBUTE, None)
            if job is None:
                continue
            params = dict(getattr(getattr(item, "callspec", None), "params", {}))
            claim = getattr(item.function, GROUP_ATTRIBUTE, None) or item.nodeid
            self._jobs.append((item.nodeid, claim, lambda job=job, params=params: job(self._workdir(), **params)))
        if self._jobs:
            self._shared.mkdir(parents=True, exist_ok=True)
            self._thread = threading.Thread(target=self._run, name="background-lane", daemon=True)
            self._thread.start()

    def claim(self, key: str) -> bool:
        """Claim a group (or a test's job) for this lane: True if this lane has it, or had it already; False if
        another lane has. The test process claims a group before its jobs come up when work only they need (the
        scanners' folders) must be done in the one process that runs them."""
        with self._claiming:
            if key in self._claimed:
                return True
            self._shared.mkdir(parents=True, exist_ok=True)
            try:
                self._path(key, "claim").mkdir()
            except FileExistsError:
                return False
            self._claimed.add(key)
            return True

    def result(self, nodeid: str) -> Any:
        if nodeid not in {known for known, _, _ in self._jobs}:
            raise KeyError(f"{nodeid} is not marked @in_background")
        deadline = time.monotonic() + RESULT_TIMEOUT_S
        while nodeid not in self._mine:
            published = self._path(nodeid, "result")
            if published.is_file():
                failed, value = pickle.loads(published.read_bytes())
                if failed:
                    raise value
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"no worker published the background result of {nodeid}")
            time.sleep(0.2)
        return self._mine[nodeid].result(timeout=max(deadline - time.monotonic(), 0))

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)

    def _run(self) -> None:
        for nodeid, claim, call in self._jobs:
            if self._stopping.is_set() and claim not in self._claimed:
                continue  # closed: claim nothing new, but finish what this lane claimed (other workers may wait)
            if claim not in self._claimed and not self.claim(claim):
                continue  # another worker's lane runs it (or its group)
            future: Future[Any] = Future()
            self._mine[nodeid] = future
            try:
                value, failed = call(), False
            except BaseException as error:  # noqa: BLE001 - handed to the test, which raises it
                value, failed = error, True
            (future.set_exception if failed else future.set_result)(value)
            try:
                published = pickle.dumps((failed, value))
            except Exception as error:  # noqa: BLE001 - an unpicklable result still reaches the waiting test
                published = pickle.dumps((True, RuntimeError(f"background result of {nodeid}: {value!r}: {error}")))
            staging = self._path(nodeid, "staging")
            staging.write_bytes(published)
            staging.rename(self._path(nodeid, "result"))  # atomic: a reader never sees half a file

    def _path(self, key: str, kind: str) -> Path:
        return self._shared / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.{kind}"

    def _workdir(self) -> Path:
        workdir = Path(tempfile.mkdtemp(prefix="background-"))
        self._folders.append(workdir)
        return workdir
