"""Local Spark starts quietly: the tests and `make demo` print what a user needs, not Spark's start-up WARN lines."""

import subprocess
import sys

from tools.synthesis import PROJECT_ROOT


def test_starting_local_spark_prints_nothing():
    code = "from tools.local_spark import session; s = session('quiet'); assert s.range(3).count() == 3; s.stop()"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", ""), result.stderr
