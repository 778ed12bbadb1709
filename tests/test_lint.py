"""`ruff check` and `ruff format --check` are clean over the whole tree (README and docs code blocks included), and `mypy` in
strict mode over stacks/, lambdas/ and spark_jobs/, with the settings in pyproject.toml and the versions
requirements-dev.txt pins (a newer ruff or mypy can add findings or restyle)."""

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.background import in_background
from tools.synthesis import PROJECT_ROOT


def installed_version(tool: str) -> str:
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed in this environment: run make setup (requirements-dev.txt pins it)")
    return importlib.metadata.version(tool)


def pinned_version(tool: str) -> str:
    pinned = re.search(rf"^{tool}==(\S+)", (PROJECT_ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)
    assert pinned, f"requirements-dev.txt does not pin {tool}"
    return pinned[1]


@pytest.fixture(scope="module")
def ruff_version() -> str:
    return installed_version("ruff")


@pytest.fixture(scope="module")
def mypy_version() -> str:
    return installed_version("mypy")


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_tool_is_the_pinned_version(tool):
    assert installed_version(tool) == pinned_version(tool)


def test_ruff_check_is_clean(ruff_version):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]


def test_ruff_format_is_clean(ruff_version):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        "run `scripts/kit-env ruff format .`\n" + result.stdout[-8000:] + result.stderr[-2000:]
    )


def test_mypy_is_strict_on_the_kit_code():
    """What the clean run below means: strict, over these folders, without a global escape hatch."""
    settings = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert settings["strict"] is True
    assert sorted(settings["files"]) == ["lambdas", "spark_jobs", "stacks"]
    for loosening in ("ignore_missing_imports", "follow_imports", "disable_error_code", "allow_untyped_defs"):
        assert loosening not in settings, f"{loosening} belongs on a module override, not on every module"
    assert "ignore-without-code" in settings["enable_error_code"]


def test_every_type_ignore_says_why():
    """`# type: ignore[code]  # reason`: mypy checks the code (ignore-without-code), this the reason."""
    unexplained = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for folder in ("stacks", "lambdas", "spark_jobs")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "type: ignore" in line and not re.search(r"type: ignore\[[\w, -]+\]\s+#\s*\S.{8,}", line)
    ]
    assert not unexplained, unexplained


def run_mypy(workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False
    )


@in_background(run_mypy)
def test_mypy_is_clean(mypy_version, background_result):
    # mypy runs in the background lane (tests/background.py) beside the other tests. The incremental cache
    # (.mypy_cache/, ignored by git) makes a warm run take seconds; a cold one about a minute.
    assert background_result.returncode == 0, background_result.stdout[-8000:] + background_result.stderr[-2000:]
