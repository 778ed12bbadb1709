"""Benchmark of `cdk synth`: the kit's full app against a one-bucket app with the same CDK and validation plugins.

    python -m benchmarks.synth_bench [--runs 3] [--profile sandbox] [--fresh-clone [--with-test]]
    (make bench-synth)

Both apps run through the pinned CDK CLI as `make synth` runs them, each into its own output folder, alternately,
after one warm-up synth of each (the first synth generates the sample data into the output folder; later synths
reuse it, as a developer's do). For every run it records wall time and CPU time (user + sys of the whole process
tree: CLI, app, jsii runtime, cfn-guard), and the medians; the target is the ratio of the medians (full app over
one bucket, issue 33: at most 2.5). The machine may be shared by others: CPU time moves less than wall time
under load, so both are kept, with the load average before and after.

It then measures the CfnGuard plugin alone on the full app's templates, with every bundled Control Tower rule and
as app.py runs it (type-scoped), and checks both report the same findings.

--fresh-clone clones the committed HEAD into a temporary folder and times the first `make synth` there (a new
.venv, node_modules and sample data; pip and npm caches as the machine has them); --with-test also times the
first `make test` (long: the whole suite). Results: benchmarks/results/synth_bench.json.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "synth_bench.json"
KIT_ENV = str(ROOT / "scripts" / "kit-env")
ONE_BUCKET_APP = "python benchmarks/one_bucket_app.py"
TARGET_RATIO = 2.5


PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> None:
    """Make this process the subreaper of its descendants (Linux): a process whose parent exits without waiting
    for it (the jsii runtime's node, for one) is reparented here instead of to init, so its CPU time is counted."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans() -> None:
    """Wait for every adopted descendant still running, so RUSAGE_CHILDREN includes it."""
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    command: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None, output: list[str] | None = None
) -> dict[str, float]:
    """Wall and CPU seconds of `command` and everything it started (user + sys of the whole process tree)."""
    cpu, wall = children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - wall
    reap_orphans()
    measured = {"wall_s": round(wall_s, 2), "cpu_s": round(children_cpu() - cpu, 2)}
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    if output is not None:
        output.append(result.stdout)
    return measured


def synth_command(outdir: Path, profile: str, app: str | None = None) -> list[str]:
    command = [KIT_ENV, "npx", "cdk", "synth", "--quiet", "-c", f"profile={profile}", "-o", str(outdir)]
    return command + (["--app", app] if app else [])


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in ("wall_s", "cpu_s")}


def guard_alone(assembly: Path, runs_per_mode: int) -> dict[str, object]:
    """The CfnGuard plugin over the assembly's templates, every rule vs type-scoped, each in a fresh process so its
    CPU time (jsii runtime and cfn-guard included) is counted; 'none' is the process without a validation."""
    script = (
        "import json, sys\n"
        "from tests.gates import TemplatesContext, templates\n"
        "from cdklabs.cdk_validator_cfnguard import CfnGuardValidator\n"
        "from stacks.common.validation import TypeScopedCfnGuardValidator\n"
        "mode, assembly = sys.argv[1], sys.argv[2]\n"
        "plugin = {'every_rule': CfnGuardValidator, 'type_scoped': TypeScopedCfnGuardValidator}.get(mode)\n"
        "paths = [str(t) for t in templates(assembly)]\n"
        "report = plugin().validate(TemplatesContext(paths)) if plugin else None\n"
        "found = sorted({f'{v.rule_name} {r.template_path} {r.resource_logical_id}'\n"
        "                for v in (report.violations if report else []) for r in v.violating_resources})\n"
        "print(json.dumps(found))\n"
    )
    out: dict[str, object] = {}
    findings = {}
    for mode in ("none", "every_rule", "type_scoped"):
        runs = []
        for _ in range(runs_per_mode):
            output: list[str] = []
            runs.append(timed([KIT_ENV, "python", "-c", script, mode, str(assembly)], output=output))
            findings[mode] = json.loads(output[0].strip().splitlines()[-1])
        out[mode] = medians(runs)
    none = out["none"]
    for mode in ("every_rule", "type_scoped"):
        out[f"{mode}_over_process"] = {k: round(out[mode][k] - none[k], 2) for k in none}  # type: ignore[index]
    out["findings"] = len(findings["every_rule"])
    out["findings_identical"] = findings["every_rule"] == findings["type_scoped"]
    return out


def fresh_clone(with_test: bool) -> dict[str, object]:
    """The first `make synth` (and `make test`) in a clone of HEAD: its times and the install lines it prints."""
    workspace = Path(tempfile.mkdtemp(prefix="kit-fresh-clone-"))
    try:
        clone = workspace / "kit"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        # The machine's environment, without this work tree's virtual environment, Node.js and CLI on PATH.
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "JAVA_HOME")}
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT)))
        figures: dict[str, object] = {}
        for target in ["synth"] + (["test"] if with_test else []):
            cpu, wall = children_cpu(), time.perf_counter()
            result = subprocess.run(["make", target], cwd=clone, env=env, capture_output=True, text=True, check=False)
            wall_s = time.perf_counter() - wall
            reap_orphans()
            figures[f"make_{target}"] = {
                "wall_s": round(wall_s, 1),
                "cpu_s": round(children_cpu() - cpu, 1),
                "exit": result.returncode,
                "installs": [line for line in result.stdout.splitlines() if line.startswith(("Installing", "Machine"))],
                "limit_s": {"synth": 120, "test": 480}[target],
            }
        figures["venv_mb"] = round(sum(f.stat().st_size for f in (clone / ".venv").rglob("*") if f.is_file()) / 1e6)
        return figures
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", default="sandbox")
    parser.add_argument("--guard-runs", type=int, default=1, help="runs of each CfnGuard-alone mode")
    parser.add_argument("--fresh-clone", action="store_true")
    parser.add_argument("--with-test", action="store_true")
    args = parser.parse_args(argv)
    adopt_orphans()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as tmp:
        full_out, bucket_out = Path(tmp) / "full", Path(tmp) / "bucket"
        first = {
            "full": timed(synth_command(full_out, args.profile)),
            "one_bucket": timed(synth_command(bucket_out, args.profile, ONE_BUCKET_APP)),
        }
        full, bucket = [], []
        for _ in range(args.runs):
            full.append(timed(synth_command(full_out, args.profile)))
            bucket.append(timed(synth_command(bucket_out, args.profile, ONE_BUCKET_APP)))
        guard = guard_alone(full_out, args.guard_runs)
    full_median, bucket_median = medians(full), medians(bucket)
    results: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "load_before": load_before},
        "profile": args.profile,
        "first_synth_generating_sample_data": first,
        "full_app_runs": full,
        "one_bucket_runs": bucket,
        "full_app_median": full_median,
        "one_bucket_median": bucket_median,
        "ratio_wall": round(full_median["wall_s"] / bucket_median["wall_s"], 2),
        "ratio_cpu": round(full_median["cpu_s"] / bucket_median["cpu_s"], 2),
        "target_ratio": TARGET_RATIO,
        "cfn_guard_alone_on_full_app": guard,
    }
    if args.fresh_clone:
        results["fresh_clone"] = fresh_clone(args.with_test)
    results["machine"]["load_after"] = os.getloadavg()  # type: ignore[index]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(
        f"synth-bench: full={full_median['wall_s']}s wall {full_median['cpu_s']}s cpu "
        f"one_bucket={bucket_median['wall_s']}s wall {bucket_median['cpu_s']}s cpu "
        f"ratio_wall={results['ratio_wall']} ratio_cpu={results['ratio_cpu']} (target <= {TARGET_RATIO}) "
        f"guard_identical={guard['findings_identical']}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
