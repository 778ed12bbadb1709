"""`make mutation`: how many injected bugs each module's own tests catch.

mutmut (pinned in requirements-dev.txt) generates the mutants; this driver samples a fixed number per module
(seeded, so a run is repeatable), adds one mutant per statement that is a bare call (deleting an AWS call such as
`delete_endpoint_config(...)`), and runs the module's tests against each mutant in a throwaway copy of the
repository with one worker: the work tree is never modified. A mutant that only changes a string literal (usually
message text) is counted apart, and so is one that only changes a type annotation (in a module with
`from __future__ import annotations` an annotation is never evaluated, so such a mutant cannot change behaviour);
the per-module score is over the other mutants. `--only` runs merge into the results file, each module stamped with
the date and commit it was measured at, so modules can be measured one at a time.

    python -m tools.mutation [--sample 80] [--only lambdas/redshift_sql/lifecycle.py] [--out PATH]
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import tokenize
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "mutation.json"
# Each module and the tests that are meant to catch its bugs.
MODULES: dict[str, list[str]] = {
    "lambdas/churn_endpoint/deployer.py": [
        "tests/lambdas/churn_endpoint/test_deployer.py",
        "tests/lambdas/churn_endpoint/test_deployer_effects.py",
        "tests/lambdas/churn_endpoint/test_deployer_states.py",
    ],
    "lambdas/churn_endpoint/idle_guard.py": [
        "tests/lambdas/churn_endpoint/test_idle_guard.py",
        "tests/lambdas/churn_endpoint/test_idle_guard_edges.py",
    ],
    "lambdas/quality_metrics/metrics_publisher.py": ["tests/lambdas/quality_metrics"],
    "lambdas/quality_run_date/run_date.py": ["tests/lambdas/quality_run_date"],
    "lambdas/redshift_sql/bootstrap.py": ["tests/lambdas/redshift_sql"],
    "lambdas/redshift_sql/cfn_response.py": ["tests/lambdas/redshift_sql"],
    "lambdas/redshift_sql/events.py": ["tests/lambdas/redshift_sql"],
    "lambdas/redshift_sql/lifecycle.py": ["tests/lambdas/redshift_sql"],
    "lambdas/redshift_sql/sql_runner.py": ["tests/lambdas/redshift_sql"],
    "lambdas/redshift_sql/templates.py": ["tests/lambdas/redshift_sql"],
    # The settings: the profile mechanism and common settings, and each architecture's.
    "stacks/common/config.py": ["tests/common/test_config.py", "tests/common/test_config_boundaries.py"],
    "stacks/redshift_ml/settings.py": ["tests/redshift_ml/test_settings.py"],
    "stacks/model_quality/settings.py": ["tests/model_quality/test_settings.py"],
    "stacks/churn_model/settings.py": ["tests/churn_model/test_settings.py"],
    "spark_jobs/model_quality/metrics.py": [
        "tests/spark_jobs/model_quality/test_metrics.py",
        "tests/spark_jobs/model_quality/test_metrics_bounds.py",
        "tests/spark_jobs/model_quality/test_metrics_edges.py",
        "tests/spark_jobs/model_quality/test_intervals.py",
    ],
    "tools/cost/estimate.py": ["tests/tools/cost/test_estimate.py"],
}
TEST_TIMEOUT_S = 300


@dataclass(frozen=True)
class Mutant:
    module: str
    line: int
    kind: str  # "mutmut" or "delete-call"
    source: str  # the whole mutated module
    string_only: bool
    annotation_only: bool = False

    @property
    def counted(self) -> bool:
        return not (self.string_only or self.annotation_only)


def _tokens(source: str) -> list[tuple[int, str]]:
    ignored = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    return [
        (tok.type, tok.string)
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type not in ignored
    ]


def string_only(original: str, mutated: str) -> bool:
    """True when the mutant differs from the original only inside string literals."""
    before, after = _tokens(original), _tokens(mutated)
    if len(before) != len(after):
        return False
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    string_types = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    return bool(changed) and all(b[0] == a[0] and b[0] in string_types for b, a in changed)


class _DropAnnotations(ast.NodeTransformer):
    """Replaces every annotation (argument, return, annotated assignment) by the same placeholder."""

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        node.returns = None
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AnnAssign:
        self.generic_visit(node)
        node.annotation = ast.Constant(value=None)
        return node


def _postponed_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )


def annotation_only(original: str, mutated: str) -> bool:
    """True when the mutant differs from the original only inside type annotations that are never evaluated.

    Only in a module with `from __future__ import annotations` (PEP 563): without it, `str & None` in a signature
    raises TypeError at import, which is a real, caught bug.
    """
    try:
        before, after = ast.parse(original), ast.parse(mutated)
    except SyntaxError:
        return False
    if not _postponed_annotations(before) or ast.dump(before) == ast.dump(after):
        return False
    return ast.dump(_DropAnnotations().visit(before)) == ast.dump(_DropAnnotations().visit(after))


def mutmut_mutants(module: str, source: str) -> list[Mutant]:
    import mutmut  # pinned in requirements-dev.txt

    context = mutmut.Context(source=source, filename=module)
    mutants = []
    for mutation_id in mutmut.list_mutations(context):
        mutated, count = mutmut.mutate(mutmut.Context(source=source, filename=module, mutation_id=mutation_id))
        if count:
            mutants.append(
                Mutant(
                    module,
                    mutation_id.line_number + 1,
                    "mutmut",
                    mutated,
                    string_only(source, mutated),
                    annotation_only(source, mutated),
                )
            )
    return mutants


def delete_call_mutants(module: str, source: str) -> list[Mutant]:
    """One mutant per statement that is only a call (its effect is the point): replaced by `pass`."""
    lines = source.splitlines(keepends=True)
    mutants = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and node.lineno == node.end_lineno:
            line = lines[node.lineno - 1]
            indent = line[: len(line) - len(line.lstrip())]
            mutated = "".join(lines[: node.lineno - 1] + [f"{indent}pass\n"] + lines[node.lineno :])
            mutants.append(Mutant(module, node.lineno, "delete-call", mutated, False))
    return mutants


def sample(mutants: list[Mutant], size: int, seed: str) -> list[Mutant]:
    """Every delete-call mutant, and a seeded sample of mutmut's up to `size` in all."""
    deletions = [m for m in mutants if m.kind == "delete-call"]
    others = [m for m in mutants if m.kind != "delete-call"]
    room = max(size - len(deletions), 0)
    picked = random.Random(seed).sample(others, min(room, len(others)))
    return sorted(deletions + picked, key=lambda m: (m.line, m.kind, m.source))


def copy_repository(destination: Path) -> None:
    files = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for link in (".venv", "node_modules"):
        if (ROOT / link).exists():
            (destination / link).symlink_to((ROOT / link).resolve())


def conftest_root(tests: list[str]) -> str:
    """The deepest folder holding every test given: conftest.py files above it (tests/conftest.py imports the CDK,
    seconds per run, for app fixtures these unit tests do not use) are not loaded."""
    return os.path.commonpath([str(Path(t).parent) if t.endswith(".py") else t for t in tests])


def tests_pass(workdir: Path, tests: list[str]) -> bool:
    command = [
        *(sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"),
        *("--confcutdir", conftest_root(tests), *tests),
    ]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, timeout=TEST_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False  # an endless loop is caught
    return result.returncode == 0


def run_module(workdir: Path, module: str, tests: list[str], size: int) -> dict:
    path = workdir / module
    original = path.read_text()
    mutants = sample(mutmut_mutants(module, original) + delete_call_mutants(module, original), size, module)
    if not tests_pass(workdir, tests):
        raise SystemExit(f"{module}: its tests {tests} fail without any mutation; fix them first")
    survivors = []
    try:
        for mutant in mutants:
            path.write_text(mutant.source)
            if tests_pass(workdir, tests):
                survivors.append(mutant)
    finally:
        path.write_text(original)
    counted = [m for m in mutants if m.counted]
    counted_survivors = [m for m in survivors if m.counted]
    killed = len(counted) - len(counted_survivors)
    return {
        "sample": size,
        "tests": tests,
        "mutants": len(counted),
        "killed": killed,
        "score": round(killed / len(counted), 3) if counted else None,
        "string_only_mutants": sum(m.string_only for m in mutants),
        "string_only_survivors": sum(m.string_only for m in survivors),
        "annotation_only_mutants": sum(m.annotation_only for m in mutants),
        "annotation_only_survivors": sum(m.annotation_only for m in survivors),
        "survivors": [
            {"line": m.line, "kind": m.kind, "code": _changed_line(original, m.source, m.kind)}
            for m in counted_survivors
        ],
    }


def _commit(results: Path) -> str:
    """The commit measured; `+dirty` when the work tree (but the results file) differed from it: the copy takes
    uncommitted files."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True, text=True)
    inside = results.resolve().is_relative_to(ROOT)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", ".", *([f":(exclude){results.resolve()}"] if inside else [])],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def merge(existing: dict, measured: dict) -> dict:
    """The results file after a run: the modules just measured replace their entries, the others are kept."""
    modules = {**existing.get("modules", {}), **measured}
    return {"modules": dict(sorted(modules.items()))}


def summary(results: dict) -> str:
    """The last line, over every module the results file holds."""
    modules = results["modules"].values()
    total = sum(r["mutants"] for r in modules)
    killed = sum(r["killed"] for r in modules)
    strings = sum(r.get("string_only_mutants", 0) for r in modules)
    string_survivors = sum(r.get("string_only_survivors", 0) for r in modules)
    annotations = sum(r.get("annotation_only_mutants", 0) for r in modules)
    return (
        f"mutation: score={killed}/{total} survivors={total - killed} "
        f"(counted apart: string-literal-only {strings - string_survivors}/{strings} killed, "
        f"annotation-only {annotations})"
    )


def _changed_line(original: str, mutated: str, kind: str) -> str:
    for before, after in zip(original.splitlines(), mutated.splitlines()):
        if before != after:
            return f"deleted: {before.strip()}" if kind == "delete-call" else after.strip()
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=80, help="mutants per module (default 80)")
    parser.add_argument("--only", action="append", choices=sorted(MODULES), help="one module (repeatable)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    modules = args.only or sorted(MODULES)
    results: dict = {}
    commit = _commit(args.out)  # before the copy: what the copy holds
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        workdir = Path(tmp)
        copy_repository(workdir)
        for module in modules:
            r = run_module(workdir, module, MODULES[module], args.sample)
            r = {"measured": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit, **r}
            print(
                f"{module}: {r['killed']}/{r['mutants']} killed, {len(r['survivors'])} survivors "
                f"(+{r['string_only_mutants']} string-only, {r['string_only_survivors']} surviving; "
                f"+{r['annotation_only_mutants']} annotation-only)",
                flush=True,
            )
            # Written after each module, so an interrupted run keeps what it measured; read again just before, so
            # runs of other modules that finished meanwhile are kept.
            results = merge(json.loads(args.out.read_text()) if args.out.exists() else {}, {module: r})
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(summary(results) if results.get("modules") else "mutation: nothing measured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
