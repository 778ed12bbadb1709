"""make bench-test reads pytest's own summary: the counts and the slowest ten, without xdist's group suffix."""

from benchmarks.test_time import slowest, summary_counts

OUTPUT = """........ [100%]
============================= slowest 10 durations =============================
17.41s call     tests/spark_jobs/model_quality/test_pr_curve.py::test_a[x]@tests/spark_jobs/model_quality/test_pr_curve.py
16.95s setup    tests/tools/test_demo.py::test_b@tests/tools/test_demo.py
=========================== short test summary info ============================
FAILED tests/tools/test_diagrams.py::test_c@tests/tools/test_diagrams.py
1 failed, 1613 passed, 6 skipped, 1 warning in 231.66s (0:03:51)
"""


def test_the_summary_line_gives_the_counts_by_outcome():
    assert summary_counts(OUTPUT) == {"failed": 1, "passed": 1613, "skipped": 6}


def test_the_slowest_lines_lose_the_group_suffix():
    assert slowest(OUTPUT) == [
        "17.41s call     tests/spark_jobs/model_quality/test_pr_curve.py::test_a[x]",
        "16.95s setup    tests/tools/test_demo.py::test_b",
    ]
