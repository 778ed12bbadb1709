"""CDK apps run as `cdk synth` runs them, several in one Python process: importing the CDK libraries costs about
10 CPU-s a process, a synth about 1.

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
from dataclasses import dataclass
from pathlib import Path

DRIVER = """\
import json, os, runpy, sys, traceback
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
