"""The precision-recall benchmark's own arithmetic: the marginal throughput make cost prices, and the CPU clock."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks.pr_bench import CORES, Growth, process_cpu_seconds


def growth(quarter_cpu: float, full_cpu: float) -> Growth:
    return Growth(
        quarter_capture_mb=100.0,
        quarter_seconds=4.0,
        quarter_cpu_seconds=quarter_cpu,
        full_capture_mb=400.0,
        full_seconds=10.0,
        full_cpu_seconds=full_cpu,
    )


def test_the_marginal_throughput_leaves_out_the_fixed_part_of_a_run():
    # 300 MB more took 6 s more on CORES cores; the CPU clock saw 12 CPU-s more, so both readings agree.
    measured = growth(quarter_cpu=6.0, full_cpu=18.0)
    assert measured.marginal_mb_per_s_per_core() == (pytest.approx(300 / 6 / CORES), "wall")
    # The quarter day's 100 MB at that rate take 2 s of the 4 it took: the rest is the run's fixed part.
    assert measured.fixed_seconds() == pytest.approx(4.0 - 100 / (300 / 6))


def test_the_slower_reading_counts_when_the_cores_were_not_both_busy():
    """A small day that leaves a core idle looks slow by the wall clock and flatters the difference; the CPU clock,
    which an idle core does not advance, then gives the lower (priced) throughput."""
    measured = growth(quarter_cpu=3.0, full_cpu=23.0)  # 20 CPU-s more for 300 MB: 15 MB per CPU-s, not 25
    assert measured.marginal_mb_per_s_per_core() == (pytest.approx(15.0), "cpu")


def test_the_cpu_clock_counts_a_running_child_process():
    spin = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\nprint(flush=True)\ninput()"
    before = process_cpu_seconds()
    child = subprocess.Popen([sys.executable, "-c", spin], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        # The child says when it has spun its 0.6 CPU-s (waiting for /proc's tick-sampled figure to reach 0.6 could
        # wait forever: it may read 0.59); this process blocks meanwhile, so the clock can only pass 0.5 by
        # counting the child.
        assert child.stdout is not None
        child.stdout.readline()
        assert process_cpu_seconds() - before >= 0.5
    finally:
        child.communicate("")
