"""CDK apps run as `cdk synth` runs them, several in one Python process: importing the CDK libraries costs about
10 CPU-s a process, a synth about 1.

The test modules that run apps add them to one batch (BATCH), which their background jobs (group APP_RUNS_GROUP,
tests/background.py) run in a single process for the whole run: the kit's app.py runs and the architecture copies share
one import of the CDK and one warmed-up jsii runtime.

Each app runs with its folder as working directory and first on the path. The CLI hands cdk.json's context and the
output folder over in CDK_CONTEXT_JSON and CDK_OUTDIR, which the CDK's Node process reads once, when it starts; here
the App receives them as its `context` and `outdir`. Before each app, the modules the apps' folders hold are
forgotten, so each app imports its own files afresh and nothing of an earlier app stands in for a file it lacks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DRIVER = """\
import importlib, json, os, runpy, sys, traceback
from pathlib import Path

import aws_cdk

sys.dont_write_bytecode = True
runs = json.loads(Path(sys.argv[1]).read_text())
folders = {Path(run["app_dir"]).resolve() for run in runs}
own_names = {
    entry.stem
    for folder in folders
    for entry in folder.iterdir()
    if entry.suffix == ".py" or entry.is_dir()  # a folder without __init__.py is a namespace package
}
create_app = aws_cdk.App.__init__
generated_folders = {}
errors = []
for run in runs:
    for name, module in list(sys.modules.items()):
        source = getattr(module, "__file__", None)
        if name.split(".")[0] in own_names and source and any(Path(source).resolve().is_relative_to(f) for f in folders):
            del sys.modules[name]

    def as_the_cli_runs_it(app, *, context=None, outdir=None, run=run, **props):
        create_app(app, context={**run["context"], **(context or {})}, outdir=outdir or run["out"], **props)

    aws_cdk.App.__init__ = as_the_cli_runs_it
    os.chdir(run["app_dir"])
    sys.path[0] = run["app_dir"]
    try:
        # The sample files an earlier app generated serve this one too (stacks/common/generated.py keeps its folders
        # by content version, the same bytes for the same generator source and parameters): the app's own module,
        # imported afresh, starts with the folders made so far instead of generating them again.
        importlib.import_module("stacks.common.generated")._made = generated_folders
    except ImportError:
        pass
    try:
        runpy.run_path("app.py", run_name="__main__")
        errors.append(None)
    except BaseException:
        errors.append(traceback.format_exc()[-6000:])
print(json.dumps(errors))
"""


@dataclass(frozen=True)
class AppRun:
    app_dir: Path  # holds app.py
    context: dict  # what cdk.json (and -c) give the CLI
    out: Path  # the output folder


def run_apps(runs: list[AppRun]) -> list[str | None]:
    """Each app run in turn in one new Python process: None where synth succeeded, else the end of its traceback
    (an app that exits, as app.py does on a bad setting, ends in SystemExit and its message)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump([{"app_dir": str(r.app_dir), "context": r.context, "out": str(r.out)} for r in runs], spec)
    try:
        result = subprocess.run(
            [sys.executable, "-c", DRIVER, spec.name],
            cwd=runs[0].app_dir,
            env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        os.unlink(spec.name)
    assert result.returncode == 0, f"the app driver failed:\n{result.stderr[-6000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


# The background lane group of every job that reads BATCH: one lane runs them all, so the batch runs once per run.
APP_RUNS_GROUP = "app-runs"


@dataclass(frozen=True)
class Prepared:
    runs: list[AppRun]
    finish: Callable[[list[str | None]], Any]  # the runs' errors -> what the tests read (their folders still exist)


class AppRunBatch:
    """The app runs several test modules need, run together by the first `result()` in one driver process. A module
    adds `prepare(root)`, which writes its apps under `root` (a folder of its own) and returns them with how to read
    their results."""

    def __init__(self) -> None:
        self._prepares: dict[str, Callable[[Path], Prepared]] = {}
        self._results: dict[str, Any] | None = None
        self._failure: BaseException | None = None
        self._lock = threading.Lock()

    def add(self, name: str, prepare: Callable[[Path], Prepared]) -> None:
        self._prepares[name] = prepare

    def result(self, name: str) -> Any:
        with self._lock:
            if self._results is None and self._failure is None:
                try:
                    self._results = self._run()
                except BaseException as failure:  # every test of the batch reports it; none runs it again
                    self._failure = failure
            if self._failure is not None:
                raise self._failure
            assert self._results is not None
            return self._results[name]

    def _run(self) -> dict[str, Any]:
        results = {}
        with tempfile.TemporaryDirectory(prefix="app-runs-") as root:
            prepared = {key: prepare(Path(root, key)) for key, prepare in self._prepares.items()}
            errors = run_apps([run for batch in prepared.values() for run in batch.runs])
            for key, batch in prepared.items():
                results[key] = batch.finish(errors[: len(batch.runs)])
                errors = errors[len(batch.runs) :]
        return results


BATCH = AppRunBatch()
