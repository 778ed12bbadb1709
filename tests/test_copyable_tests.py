"""Each architecture's tests can be copied with the architecture (docs/copy.md): they
synthesize only its construct and need neither the kit's app.py nor the app-level fixtures of tests/conftest.py."""

import re

import pytest

from tools.synthesis import PROJECT_ROOT

ARCHITECTURE_TESTS = ("redshift_ml", "model_quality", "churn_model")
APP_LEVEL = re.compile(
    r"^\s*(from app import|import app\b|from tests\.conftest import|from tools\.)|\bkit_app\b", re.MULTILINE
)


@pytest.mark.parametrize("architecture", ARCHITECTURE_TESTS)
def test_architecture_tests_use_only_their_construct(architecture):
    files = sorted((PROJECT_ROOT / "tests" / architecture).glob("*.py"))
    assert any(path.name == "conftest.py" for path in files), f"tests/{architecture} has no fixture of its own"
    offenders = {path.name: APP_LEVEL.findall(path.read_text()) for path in files if APP_LEVEL.search(path.read_text())}
    assert not offenders, f"tests/{architecture} depends on the kit's app-level code: {offenders}"
