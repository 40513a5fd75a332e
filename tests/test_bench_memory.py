"""bench/run.py's memory readers: the PSS of a process and of a process tree (issue 17's
memory target is judged on the PSS sum; the RSS sum counts shared pages once per process)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.run import pss_mb, tree_memory_mb

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/smaps_rollup").exists(), reason="PSS is read from Linux's smaps_rollup"
)


def test_the_pss_of_this_process_is_positive_and_at_most_its_rss():
    pss = pss_mb(os.getpid())
    rss = psutil.Process().memory_info().rss / 2**20
    assert 0 < pss <= rss


def test_a_vanished_process_reads_as_zero_not_an_error():
    # a pid no process can have (above the kernel's pid_max): an exited child's pid
    # could be reused by another process before it is read
    gone = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    assert pss_mb(gone) == 0.0
    tree = tree_memory_mb(gone)  # the root itself is gone: no figure at all
    assert math.isnan(tree.rss) and math.isnan(tree.pss)


def test_a_tree_pss_counts_shared_pages_once_its_rss_sum_does_not():
    """A parent and its child map the same interpreter: the RSS sum counts those pages
    twice, the PSS sum once (the known-bad figure the bench used to report alone)."""
    # both say when they are started (and then only sleep): measured while one of them is
    # still starting, the tree and the processes alone are read at different sizes
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(\n"
        "    [sys.executable, '-c', 'import time; print(\"ready\", flush=True); time.sleep(30)']\n"
        ")\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(30)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        said = {parent.stdout.readline().strip() for _ in range(2)}  # (in either order)
        assert "ready" in said, said
        (child,) = [int(x) for x in said - {"ready"}]
        tree = tree_memory_mb(parent.pid)
        alone = [pss_mb(parent.pid), pss_mb(child)]
        assert all(p > 0 for p in alone)
        assert tree.pss == pytest.approx(sum(alone), rel=0.2)
        assert 0 < tree.pss < tree.rss
    finally:
        for proc in psutil.Process(parent.pid).children(recursive=True):
            proc.kill()
        parent.kill()
        parent.wait(timeout=30)


def test_the_memory_target_is_judged_with_two_workers_only() -> None:
    """Issue 17's memory target is the tree with 2 workers: a run with the default (4) or
    another count reports it as not judged rather than as missed or met."""
    from bench.run import Report, ratios

    def targets(workers: int | None, pss: float, **settings: str) -> dict:
        report = Report(
            scale=1,
            triples=1,
            build_seconds=0,
            build_peak_mb=0,
            duration=1,
            connections=1,
            workers=workers,
            pss_mb={"dipkg": pss},
            idle_pss_mb={"dipkg": pss},
            settings=settings,
        )
        return {k: v for k, v in ratios(report)["targets"].items() if "MB" in k}

    assert set(targets(2, 100).values()) == {True}
    assert set(targets(2, 130).values()) == {False}
    assert set(targets(None, 100).values()) == set(targets(4, 130).values()) == {None}
    assert set(targets(None, 100, QUERY_WORKERS="2").values()) == {True}  # --set
    assert set(targets(2, 100, QUERY_WORKERS="4").values()) == {None}  # --set wins


def test_the_sampler_reads_pss_at_its_own_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """RSS at every sample; PSS (a walk of the page tables, which the measured server waits
    on) the first time and then every ``pss_every`` s only."""
    import bench.run as run

    reads: list[int] = []
    real = run.pss_mb
    # (the measure itself is tested above; here, how often the sampler takes it)
    monkeypatch.setattr(run, "pss_mb", lambda pid: reads.append(pid) or real(pid))
    # a tree of one process (this one may hold servers that other tests started)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with run.PeakRss(child.pid, pss_every=60.0) as peak:
            time.sleep(1.2)  # three samples
        assert peak.peak > 0 and peak.peak_pss > 0
        assert reads == [child.pid]
        assert math.isnan(tree_memory_mb(child.pid, pss=False).pss)
    finally:
        child.kill()
        child.wait()
