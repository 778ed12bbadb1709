"""`ruff check` and `ruff format --check` are clean over the whole tree (README code blocks included), with the
rules in pyproject.toml and the version requirements-dev.txt pins (a newer ruff can add findings or restyle)."""

import importlib.metadata
import importlib.util
import re
import subprocess
import sys

import pytest

from tools.synthesis import PROJECT_ROOT


@pytest.fixture(scope="module")
def ruff_version() -> str:
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is not installed in this environment: run make setup (requirements-dev.txt pins it)")
    return importlib.metadata.version("ruff")


def test_ruff_is_the_pinned_version(ruff_version):
    pinned = re.search(r"^ruff==(\S+)", (PROJECT_ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)
    assert pinned, "requirements-dev.txt does not pin ruff"
    assert ruff_version == pinned[1]


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
