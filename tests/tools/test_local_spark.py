"""Local Spark starts quietly: the tests and `make demo` print what a user needs, not Spark's start-up WARN lines."""

import subprocess
import sys

from tests.background import in_background
from tools.synthesis import PROJECT_ROOT


def start_local_spark(workdir):
    """A JVM start of its own (the tests' session is already up and quiet), in the background lane."""
    code = "from tools.local_spark import session; s = session('quiet'); assert s.range(3).count() == 3; s.stop()"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False
    )


@in_background(start_local_spark)
def test_starting_local_spark_prints_nothing(background_result):
    result = background_result
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", ""), result.stderr
