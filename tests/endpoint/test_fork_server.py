"""The workers' fork server (sparql_api/zygote.py): one light process forks every worker.

Against a real server of its own (the tests kill its fork server) and, for the
fallback, a pool of its own: where fork is refused or the fork server cannot start,
each worker is a fresh interpreter as before.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from dipkg.core.release import open_release
from sparql_api.forkclient import fork_server_supported
from sparql_api.results import Job
from sparql_api.workers import WorkerPool, seccomp_filtered
from tests.endpoint.conftest import Server, serving

WORKERS = 2
CHEAP = "ASK { ?s ?p ?o } # fork server %d"

pytestmark = pytest.mark.skipif(
    not fork_server_supported(), reason="no fork server on this OS: workers are spawned"
)


@pytest.fixture(scope="module")
def forked(endpoint_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(
        endpoint_data,
        tmp_path_factory,
        "fork-server",
        DIPKG_QUERY_TIMEOUT="2",
        DIPKG_QUERY_WORKERS=str(WORKERS),
    )


def health(server: Server) -> dict:
    return httpx.get(server.url + "/health", timeout=10).json()


def settled(server: Server, within: float = 20.0) -> list[psutil.Process]:
    """The workers, once the pool is whole again (and its fork server running)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        workers = server.workers()
        if (
            health(server)["workers"]["alive"] == WORKERS
            and len(workers) == WORKERS
            and len(server.fork_servers()) == 1
        ):
            return workers
        time.sleep(0.05)
    raise AssertionError(f"the pool did not come back: {server.processes()}")


def netns(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def test_every_worker_is_a_child_of_the_one_fork_server(forked: Server) -> None:
    workers = settled(forked)
    (zygote,) = forked.fork_servers()
    assert zygote.ppid() == forked.proc.pid
    for w in workers:
        assert w.ppid() == zygote.pid and w.name() == "dipkg-worker", w
    # the server itself is no worker's parent (the check can fail: it is the zygote's)
    assert {w.ppid() for w in workers} != {forked.proc.pid}


def test_the_sandbox_is_the_fork_servers_and_health_tells_the_truth(forked: Server) -> None:
    workers = settled(forked)
    (zygote,) = forked.fork_servers()
    sandbox = health(forked)["network_sandbox"]
    if sandbox == "on":  # the workers share the zygote's empty namespace, not the server's
        assert {netns(w.pid) for w in workers} == {netns(zygote.pid)}
        assert netns(zygote.pid) != netns(forked.proc.pid)
    else:  # the OS refused it: then the namespace is the server's, as /health says
        assert sandbox.startswith("off")
        assert netns(zygote.pid) == netns(forked.proc.pid)
    # the seccomp filter refusing Internet sockets: on every worker, by the kernel's word
    # (tests/endpoint/test_network_filter.py), never on the server itself
    assert health(forked)["network_filter"] == "on"
    assert all(seccomp_filtered(w.pid) for w in workers) and seccomp_filtered(zygote.pid)
    assert not seccomp_filtered(forked.proc.pid)


def test_a_killed_fork_server_is_restarted_and_queries_still_work(forked: Server) -> None:
    before = {w.pid for w in settled(forked)}
    (zygote,) = forked.fork_servers()
    restarts = health(forked)["queries"]["fork_server_restarts"]
    os.kill(zygote.pid, signal.SIGKILL)
    # its workers die with it; a query waits for their replacements instead of failing
    r = httpx.get(forked.url + "/sparql", params={"query": CHEAP % time.time_ns()}, timeout=30)
    assert r.status_code == 200 and r.json()["boolean"] is True, r.text
    after = {w.pid for w in settled(forked)}
    assert not before & after, "the old workers outlived their fork server"
    (fresh,) = forked.fork_servers()
    assert fresh.pid != zygote.pid
    assert health(forked)["queries"]["fork_server_restarts"] == restarts + 1
    for i in range(5):
        r = httpx.get(forked.url + "/sparql", params={"query": CHEAP % i}, timeout=30)
        assert r.status_code == 200, r.text
    zombies = [p.pid for p in forked.processes() if p.status() == psutil.STATUS_ZOMBIE]
    assert not zombies


#: the tests' own policy is the workers' starting point (a run under `chrt -b` or a
#: systemd CPUSchedulingPolicy= starts elsewhere: the workers keep that, tested below)
default_policy = pytest.mark.skipif(
    not hasattr(os, "sched_getscheduler") or os.sched_getscheduler(0) != os.SCHED_OTHER,
    reason="the tests run under a policy of their own: workers keep it",
)


@default_policy
def test_workers_run_as_batch_work_and_the_web_process_does_not(forked: Server) -> None:
    """Queries are batch work (SCHED_BATCH: a normal share of the CPU, but a worker's
    wake-up does not preempt the web process, which has the next request to read)."""
    workers = settled(forked)
    assert {os.sched_getscheduler(w.pid) for w in workers} == {os.SCHED_BATCH}
    (zygote,) = forked.fork_servers()
    assert os.sched_getscheduler(forked.proc.pid) == os.SCHED_OTHER
    assert os.sched_getscheduler(zygote.pid) == os.SCHED_OTHER


@default_policy
def test_a_spawned_worker_runs_as_batch_work_too_and_says_so(endpoint_data: Path) -> None:
    async def scenario() -> tuple[set[int], object]:
        store = open_release(endpoint_data).store_dir
        pool = WorkerPool(store, size=1, timeout=20, fork_server=False)
        await pool.start()
        try:
            await pool.run(Job("ASK { ?s ?p ?o }", "json", None, 10))
            return {os.sched_getscheduler(pid) for pid in pool.pids()}, pool.info
        finally:
            await pool.stop()

    policies, info = asyncio.run(scenario())
    assert policies == {os.SCHED_BATCH}
    assert info["scheduling"] == "batch"  # type: ignore[index]


@pytest.mark.parametrize(
    ("policy", "name", "batch"), [("SCHED_IDLE", "idle", False), ("SCHED_BATCH", "batch", True)]
)
def test_a_worker_started_under_another_policy_keeps_it(policy: str, name: str, batch: bool):
    """An operator's choice (idle, or batch already) stands: only the default is changed.
    (Both may be taken without privileges.)"""
    code = (
        "import os; from sparql_api import workers_child as w; "
        f"os.sched_setscheduler(0, os.{policy}, os.sched_param(0)); "
        "print(w._batch_scheduling(), w._policy_name(), os.sched_getscheduler(0))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    said, told, now = done.stdout.split()
    assert (said, told, int(now)) == (str(batch), name, getattr(os, policy))


def _pool_run(store: Path, size: int = 1, **options: object) -> tuple[dict, list[str], int]:
    """A query's answer, and the command line and parent of the pool's workers (alike)."""

    async def scenario() -> tuple[dict, list[str], int]:
        pool = WorkerPool(store, size=size, timeout=20, **options)  # type: ignore[arg-type]
        await pool.start()
        try:
            reply = await pool.run(Job("ASK { ?s ?p ?o }", "json", None, 10))
            procs = [psutil.Process(pid) for pid in pool.pids()]
            assert len(procs) == size
            (cmdline,) = {tuple(p.cmdline()) for p in procs}
            (ppid,) = {p.ppid() for p in procs}
            return reply.header, list(cmdline), ppid
        finally:
            await pool.stop()

    return asyncio.run(scenario())


def test_without_the_fork_server_each_worker_is_a_fresh_interpreter(endpoint_data: Path) -> None:
    store = open_release(endpoint_data).store_dir
    header, cmdline, ppid = _pool_run(store, fork_server=False)
    assert header["ok"] is True
    assert "sparql_api.workers_child" in cmdline and ppid == os.getpid()
    header, cmdline, ppid = _pool_run(store)  # the default here: forked
    assert header["ok"] is True
    assert "sparql_api.workers_child" not in cmdline and ppid != os.getpid()


def test_a_fork_server_that_cannot_start_falls_back_to_spawning(
    endpoint_data: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sparql_api import forkclient

    async def refused(self: object, timeout: float) -> None:
        raise OSError("fork refused here")

    monkeypatch.setattr(forkclient._Zygote, "start", refused)
    header, cmdline, ppid = _pool_run(open_release(endpoint_data).store_dir, size=3)
    assert header["ok"] is True
    assert "sparql_api.workers_child" in cmdline and ppid == os.getpid()
    # tried once for the three workers, not once each
    assert caplog.text.count("fork server did not start (fork refused here)") == 1


def test_a_fork_server_that_cannot_restart_gives_way_to_spawning(
    endpoint_data: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Killed, and every restart refused: after a few tries the pool spawns fresh
    interpreters (and says so in its counters) instead of staying at 0 workers."""
    from sparql_api import forkclient

    store = open_release(endpoint_data).store_dir

    async def refused(self: object, timeout: float) -> None:
        raise OSError("fork refused now")

    async def scenario() -> tuple[dict, list[str], dict[str, int]]:
        pool = WorkerPool(store, size=2, timeout=15)
        await pool.start()
        try:
            assert pool._zygote is not None and not pool.stats.get("fork_server_fallback")
            monkeypatch.setattr(forkclient._Zygote, "start", refused)
            os.kill(pool._zygote.pid, signal.SIGKILL)
            await asyncio.sleep(0.1)
            reply = await pool.run(Job(CHEAP % 1, "json", None, 10))
            cmdlines = [psutil.Process(pid).cmdline() for pid in pool.pids()]
            return reply.header, [" ".join(c) for c in cmdlines], dict(pool.stats)
        finally:
            await pool.stop()

    header, cmdlines, stats = asyncio.run(scenario())
    assert header["ok"] is True, header
    assert cmdlines and all("sparql_api.workers_child" in c for c in cmdlines), cmdlines
    assert stats.get("fork_server_fallback") == 1 and stats["fork_server_restarts"] == 0, stats
    assert caplog.text.count("fork server could not be restarted") == 1, caplog.text


def test_no_dipkg_setting_or_secret_reaches_a_worker(
    endpoint_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/proc/PID/environ of the fork server and of every worker (forked or spawned) holds
    no DIPKG_ setting and nothing named like a secret."""
    store = open_release(endpoint_data).store_dir
    secret = "hunter2-not-for-workers"
    monkeypatch.setenv("DIPKG_SPARQL_BACKEND_PASSWORD", secret)
    monkeypatch.setenv("DIPKG_QUERY_TIMEOUT", "7")
    monkeypatch.setenv("SOME_API_TOKEN", secret)

    async def scenario(fork_server: bool) -> list[bytes]:
        pool = WorkerPool(store, size=2, timeout=15, fork_server=fork_server)
        await pool.start()
        try:
            reply = await pool.run(Job(CHEAP % 2, "json", None, 10))
            assert reply.header["ok"] is True
            pids = pool.pids() + ([pool._zygote.pid] if pool._zygote is not None else [])
            assert len(pids) == (3 if fork_server else 2), pids
            return [Path(f"/proc/{pid}/environ").read_bytes() for pid in pids]
        finally:
            await pool.stop()

    for fork_server in (True, False):
        for environ in asyncio.run(scenario(fork_server)):
            names = [item.split(b"=", 1)[0] for item in environ.split(b"\0") if item]
            assert b"PATH" in names  # the check can fail: the environment is there
            assert secret.encode() not in environ
            assert not [n for n in names if n.startswith(b"DIPKG_")], names


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="no /proc here")
def test_resident_bytes_is_the_callers_own_after_a_fork() -> None:
    """A worker asks its resident memory after every query through a descriptor kept open
    (sparql_api.workers_child.resident_bytes). /proc/self is resolved when the file is
    opened: a forked child that kept reading the fork server's descriptor would see the
    fork server's memory, and never retire (Settings.worker_retire_mb)."""
    from sparql_api.workers_child import resident_bytes

    before = resident_bytes()  # this process opens (and keeps) its own
    assert before > 0
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: grow by 64 MiB (touched), then report both readings
        try:
            grown = bytearray(64 * 1024 * 1024)
            for i in range(0, len(grown), 4096):
                grown[i] = 1
            kept = resident_bytes()
            with open("/proc/self/statm", "rb") as f:
                fresh = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            os.write(write, f"{kept} {fresh}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as r:
        kept, fresh = map(int, r.read().split())
    os.waitpid(pid, 0)
    assert abs(kept - fresh) < 4 * 1024 * 1024, (before, kept, fresh)
    assert abs(resident_bytes() - before) < 32 * 1024 * 1024  # the parent's own, unchanged


@pytest.mark.parametrize("padding", [0, 2 * 1024 * 1024], ids=["small", "larger-than-a-socket"])
def test_a_forked_worker_that_died_before_reading_its_job_costs_no_query(
    endpoint_data: Path, padding: int
) -> None:
    """A forked worker sends a job's first reply byte with the reply (one write a query):
    whether a dead worker had read its job is the kernel's answer (a Unix socket closed
    with unread data resets its peer). A worker stopped before it could read the job, then
    killed, ran nothing: the query goes to a fresh worker and succeeds, no death counted.
    One that read it and died is the query's 503 (test_limits: dies mid-query). A job larger
    than the socket's buffer is sent only once the kernel holds all of it, so the same holds
    for it (the pool is still writing it when the worker dies)."""
    release = open_release(endpoint_data)

    async def scenario() -> tuple[int, dict[str, int], int, int]:
        pool = WorkerPool(release.store_dir, size=1, timeout=20)
        await pool.start()
        try:
            (worker,) = pool._workers
            assert not worker.acks  # forked: no byte alone before the reply
            victim = worker.proc.pid
            os.kill(victim, signal.SIGSTOP)  # it cannot read what is sent now...
            stopped = psutil.Process(victim)
            for _ in range(500):  # ...once it is stopped: a signal takes effect when the
                if stopped.status() == psutil.STATUS_STOPPED:  # process next runs, and a
                    break  # worker woken under load could read the job first
                await asyncio.sleep(0.01)
            assert stopped.status() == psutil.STATUS_STOPPED
            query = CHEAP % 99 + " #" + "x" * padding
            run = asyncio.create_task(pool.run(Job(query, "json", None, 10)))
            await asyncio.sleep(0.3)  # the job is in its socket, unread
            assert not run.done()
            os.kill(victim, signal.SIGKILL)
            reply = await asyncio.wait_for(run, 20)
            (fresh,) = pool._workers
            return reply.header["rows"], dict(pool.stats), victim, fresh.proc.pid
        finally:
            await pool.stop()

    rows, stats, victim, fresh = asyncio.run(scenario())
    assert rows == 1 and stats["deaths"] == 0, stats
    assert fresh != victim
