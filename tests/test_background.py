"""The background lane (tests/background.py) runs each marked test's job once in the run, with its parameters, in
order, whichever worker's lane takes it."""

import threading
import time
from types import SimpleNamespace

import pytest

from tests import background
from tests.background import BackgroundLane, in_background


def record(workdir, **params):
    (workdir / "ran").write_text("yes")
    return workdir, params


def fail(workdir):
    raise AssertionError("the job's own assertion")


def item(nodeid, function, **params):
    return SimpleNamespace(nodeid=nodeid, function=function, callspec=SimpleNamespace(params=params))


def test_a_marked_test_gets_its_jobs_result_with_its_parameters_and_a_fresh_folder(tmp_path):
    lane = BackgroundLane(tmp_path)
    marked = in_background(record)(lambda: None)
    lane.start([item("a[x]", marked, construct="X"), item("a[y]", marked, construct="Y"), item("b", lambda: None)])
    try:
        (first, first_params), (second, second_params) = lane.result("a[x]"), lane.result("a[y]")
        assert (first_params, second_params) == ({"construct": "X"}, {"construct": "Y"})
        assert first != second and (first / "ran").read_text() == "yes"
        with pytest.raises(KeyError):
            lane.result("b")  # not marked: nothing ran for it
    finally:
        lane.close()
    assert not first.exists() and not second.exists()


def test_a_failing_job_fails_its_test(tmp_path):
    lane = BackgroundLane(tmp_path)
    lane.start([item("c", in_background(fail)(lambda: None))])
    try:
        with pytest.raises(AssertionError, match="the job's own assertion"):
            lane.result("c")
    finally:
        lane.close()


def test_two_workers_lanes_run_each_job_once_and_both_tests_see_its_result(tmp_path):
    runs, lock = [], threading.Lock()

    def count(workdir, name):
        with lock:
            runs.append(name)
        return f"result of {name}"

    counted = in_background(count)(lambda: None)
    failing = in_background(fail)(lambda: None)
    items = [item(f"t[{n}]", counted, name=n) for n in "abcdef"] + [item("broken", failing)]
    lanes = [BackgroundLane(tmp_path / "run"), BackgroundLane(tmp_path / "run")]
    for lane in lanes:
        lane.start(items)
    try:
        for lane in lanes:
            assert [lane.result(f"t[{n}]") for n in "abcdef"] == [f"result of {n}" for n in "abcdef"]
            with pytest.raises(AssertionError, match="the job's own assertion"):
                lane.result("broken")
    finally:
        for lane in lanes:
            lane.close()
    assert sorted(runs) == list("abcdef")


def test_the_jobs_of_a_group_run_in_the_lane_that_claims_the_group(tmp_path):
    """A group's jobs share work done once in one process (one scan, one CDK import): two lanes that both see the
    group must not split it."""
    ran_in, lock = {}, threading.Lock()

    def where(workdir, name):
        with lock:
            ran_in[name] = threading.current_thread().ident
        time.sleep(0.05)  # long enough that both lanes are taking jobs at once
        return name

    grouped = in_background(where, group="shared work")(lambda: None)
    single = in_background(where)(lambda: None)
    items = [item(f"g[{n}]", grouped, name=n) for n in "abcd"] + [item(f"s[{n}]", single, name=n) for n in "xyz"]
    lanes = [BackgroundLane(tmp_path / "run"), BackgroundLane(tmp_path / "run")]
    for lane in lanes:
        lane.start(items)
    try:
        for lane in lanes:
            assert [lane.result(f"g[{n}]") for n in "abcd"] == list("abcd")
            assert [lane.result(f"s[{n}]") for n in "xyz"] == list("xyz")
    finally:
        for lane in lanes:
            lane.close()
    assert sorted(ran_in) == list("abcdxyz")  # each job once
    assert len({ran_in[n] for n in "abcd"}) == 1, ran_in


def test_a_group_claimed_by_a_process_runs_in_its_lane_and_the_other_lane_waits_for_it(tmp_path):
    """tests/conftest.py claims the scan's group before synthesizing the folders only the scan needs: the claim holds
    whether it comes before the lane's own or after it, and the other worker's lane neither runs nor re-claims it."""
    ran_in, lock = {}, threading.Lock()

    def where(workdir, name):
        with lock:
            ran_in[name] = threading.current_thread().ident
        return name

    grouped = in_background(where, group="scan")(lambda: None)
    items = [item(f"g[{n}]", grouped, name=n) for n in "ab"]
    first, second = BackgroundLane(tmp_path / "run"), BackgroundLane(tmp_path / "run")
    assert first.claim("scan") and first.claim("scan")  # again: still this lane's
    assert not second.claim("scan")
    for lane in (second, first):
        lane.start(items)
    try:
        for lane in (first, second):
            assert [lane.result(f"g[{n}]") for n in "ab"] == list("ab")
    finally:
        first.close()
        second.close()
    assert first._thread is not None and {ran_in[n] for n in "ab"} == {first._thread.ident}


def test_a_lane_that_is_closed_still_finishes_the_group_it_claimed(tmp_path, monkeypatch):
    """A worker that runs out of tests closes its lane while the other worker's tests may still wait for jobs of a
    group this lane claimed: it finishes them (and claims nothing new), or those tests would wait until the timeout."""
    monkeypatch.setattr(background, "RESULT_TIMEOUT_S", 10)

    def slow(workdir, name):
        time.sleep(0.5)
        return name

    grouped = in_background(slow, group="scan")(lambda: None)
    alone = in_background(slow)(lambda: None)
    items = [item(f"g[{n}]", grouped, name=n) for n in "ab"] + [item("s", alone, name="s")]
    first, second = BackgroundLane(tmp_path / "run"), BackgroundLane(tmp_path / "run")
    assert first.claim("scan")
    first.start(items)
    first.close()  # while g[a] runs: its worker has no tests left
    second.start(items)
    try:
        assert [second.result(f"g[{n}]") for n in "ab"] + [second.result("s")] == ["a", "b", "s"]
    finally:
        second.close()
